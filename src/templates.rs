//! Page templates, compiled into the binary from `templates/`.

use crate::error::{Error, Result};
use crate::orders::Status;
use minijinja::Environment;
use std::sync::OnceLock;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("menu.html", include_str!("../templates/menu.html")),
    ("cart.html", include_str!("../templates/cart.html")),
    ("order.html", include_str!("../templates/order.html")),
    (
        "order_status.html",
        include_str!("../templates/order_status.html"),
    ),
    ("login.html", include_str!("../templates/login.html")),
    ("register.html", include_str!("../templates/register.html")),
    (
        "shop_board.html",
        include_str!("../templates/shop_board.html"),
    ),
    (
        "shop_orders.html",
        include_str!("../templates/shop_orders.html"),
    ),
    (
        "shop_menu.html",
        include_str!("../templates/shop_menu.html"),
    ),
    ("admin.html", include_str!("../templates/admin.html")),
    ("portal.html", include_str!("../templates/portal.html")),
];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name} does not compile: {e}"));
        }
        env.add_filter("cents", crate::money::format_cents);
        env.add_filter("clock", crate::time::clock);
        env.add_filter("next_status", |status: &str| {
            Status::parse(status)
                .and_then(Status::next)
                .map_or("", Status::as_str)
        });
        env.add_filter("minutes_since", |then: i64, now: i64| {
            (now - then).max(0) / 60_000
        });
        env
    })
}

/// Any serialisable value as a template value.
pub fn value<T: serde::Serialize>(value: T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(value))
}

pub fn render(name: &str, context: minijinja::Value) -> Result<String> {
    environment()
        .get_template(name)
        .and_then(|t| t.render(context))
        .map_err(|e| Error::Internal(format!("rendering {name}: {e:#}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_compiles() {
        for (name, _) in super::TEMPLATES {
            assert!(super::environment().get_template(name).is_ok(), "{name}");
        }
    }
}
