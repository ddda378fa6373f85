//! Page templates, compiled into the binary from `templates/`.

use crate::error::{Error, Result};
use crate::ordering::orders::Status;
use minijinja::Environment;
use std::sync::OnceLock;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "account/login.html",
        include_str!("../../templates/account/login.html"),
    ),
    (
        "account/register.html",
        include_str!("../../templates/account/register.html"),
    ),
    (
        "admin/venue.html",
        include_str!("../../templates/admin/venue.html"),
    ),
    ("base.html", include_str!("../../templates/base.html")),
    (
        "customer/cart.html",
        include_str!("../../templates/customer/cart.html"),
    ),
    (
        "customer/home.html",
        include_str!("../../templates/customer/home.html"),
    ),
    (
        "customer/menu.html",
        include_str!("../../templates/customer/menu.html"),
    ),
    (
        "customer/order.html",
        include_str!("../../templates/customer/order.html"),
    ),
    (
        "customer/order_status.html",
        include_str!("../../templates/customer/order_status.html"),
    ),
    ("error.html", include_str!("../../templates/error.html")),
    (
        "portal/welcome.html",
        include_str!("../../templates/portal/welcome.html"),
    ),
    (
        "shop/board.html",
        include_str!("../../templates/shop/board.html"),
    ),
    (
        "shop/menu.html",
        include_str!("../../templates/shop/menu.html"),
    ),
    (
        "shop/orders.html",
        include_str!("../../templates/shop/orders.html"),
    ),
];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name} does not compile: {e}"));
        }
        env.add_filter("cents", crate::support::money::format_cents);
        env.add_filter("clock", crate::support::time::clock);
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
