//! Pages and how to speak to a request: its language (with the switcher's
//! links) and the venue's money format, and what every page is rendered with.

use super::identity;
use super::request::Request;
use super::response::{self, Response, Speech};
use crate::app::App;
use crate::error::Result;
use crate::support::{i18n, text};
use crate::venue::settings::Venue;

/// The language a visitor picked with `?lang=`, if the venue offers it.
pub(super) fn chosen_language(venue: &Venue, req: &Request) -> Option<&'static str> {
    let picked = req.param("lang")?;
    venue
        .offered()
        .into_iter()
        .find(|c| c.lang == picked)
        .map(|c| c.lang)
}

/// How to speak to this request: its language and the venue's money format.
pub fn speech(app: &App, req: &Request) -> Speech {
    app.with_venue(|venue| speech_for(venue, req))
}

/// The language of this request's pages, and whether it was picked with
/// `?lang=` (then links carry it).
pub fn page_language(app: &App, req: &Request) -> (&'static i18n::Catalogue, bool) {
    app.with_venue(|venue| {
        let language = i18n::choose(
            &venue.offered(),
            req.param("lang"),
            req.header("accept-language"),
            &venue.language,
        );
        (language, chosen_language(venue, req).is_some())
    })
}

fn speech_for(venue: &Venue, req: &Request) -> Speech {
    let language = i18n::choose(
        &venue.offered(),
        req.param("lang"),
        req.header("accept-language"),
        &venue.language,
    );
    Speech {
        picked: chosen_language(venue, req).is_some(),
        ..Speech::new(language, venue.money_for(language))
    }
}

/// The language switcher's links: this page in each offered language.
fn language_links(
    req: &Request,
    offered: &[&i18n::Catalogue],
    current: &str,
) -> Vec<minijinja::Value> {
    offered
        .iter()
        .map(|catalogue| {
            let mut href: String = req
                .segments
                .iter()
                .map(|segment| format!("/{}", text::percent_encode(segment)))
                .collect();
            if href.is_empty() {
                href.push('/');
            }
            let query = req
                .query
                .iter()
                .filter(|(key, _)| key != "lang")
                .map(|(key, value)| {
                    format!(
                        "{}={}",
                        text::percent_encode(key),
                        text::percent_encode(value)
                    )
                })
                .chain([format!("lang={}", catalogue.lang)]);
            for (i, pair) in query.enumerate() {
                href.push(if i == 0 { '?' } else { '&' });
                href.push_str(&pair);
            }
            crate::http::templates::context! {
                code => catalogue.lang,
                name => catalogue.name(),
                href => href,
                current => catalogue.lang == current,
            }
        })
        .collect()
}

/// Renders a page with what every page needs: the venue, the logged-in
/// staff member (if any) and a CSRF token for its forms.
pub async fn page(
    app: &App,
    req: &Request,
    template: &str,
    context: minijinja::Value,
) -> Result<Response> {
    let staff = identity::staff(app, req).await?;
    render(app, req, template, staff.as_ref(), context)
}

/// Like `page` when the handler already knows the staff member.
pub fn render(
    app: &App,
    req: &Request,
    template: &str,
    staff: Option<&crate::accounts::Staff>,
    context: minijinja::Value,
) -> Result<Response> {
    let body = render_text(app, req, template, staff, context)?;
    Ok(response::html(hyper::StatusCode::OK, body))
}

/// The HTML `render` answers with.
pub fn render_text(
    app: &App,
    req: &Request,
    template: &str,
    staff: Option<&crate::accounts::Staff>,
    context: minijinja::Value,
) -> Result<String> {
    let venue = app.venue();
    let speech = speech_for(&venue, req);
    let common = crate::http::templates::context! {
        lang => speech.language.lang,
        lang_param => speech.picked.then_some(speech.language.lang),
        languages => language_links(req, &venue.offered(), speech.language.lang),
        money => crate::http::templates::value(&speech.money),
        venue => crate::http::templates::value(&venue),
        staff => staff.map(|s| crate::http::templates::context! {
            name => s.name.clone(),
            role => s.role.as_str(),
            shop => s.shop().cloned().map(|shop| crate::http::templates::value(&crate::ordering::catalog::ShopView::from(shop))),
        }),
        csrf => identity::csrf_token(app, req),
        now => crate::support::time::now_ms(),
    };
    crate::http::templates::render(
        template,
        crate::http::templates::context! { ..common, ..context },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request;
    use hyper::Method;
    use std::net::SocketAddr;

    fn get(target: &str, query: &[(&str, &str)]) -> Request {
        Request {
            method: Method::GET,
            segments: request::path_segments(target),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            headers: Default::default(),
            body: Default::default(),
            peer: SocketAddr::from(([127, 0, 0, 1], 9)),
            local: None,
        }
    }

    #[test]
    fn the_switcher_links_this_page_in_each_language() {
        let req = get("/o/5", &[("t", "a b&c"), ("lang", "xx"), ("fragment", "1")]);
        let offered = [i18n::english(), &i18n::catalogues()[2]];
        let links = language_links(&req, &offered, "en");
        assert_eq!(links.len(), 2);
        assert_eq!(links[1].get_attr("code").unwrap().to_string(), "hi");
        let english = &links[0];
        assert_eq!(
            english.get_attr("href").unwrap().to_string(),
            "/o/5?t=a%20b%26c&fragment=1&lang=en"
        );
        assert!(english.get_attr("current").unwrap().is_true());
        let venue = Venue {
            languages: vec!["en".into(), "es".into()],
            ..Venue::default()
        };
        assert_eq!(chosen_language(&venue, &req), None);
        assert_eq!(
            chosen_language(&venue, &get("/", &[("lang", "es")])),
            Some("es")
        );
        // A language the venue does not offer is not picked.
        assert_eq!(chosen_language(&venue, &get("/", &[("lang", "hi")])), None);
    }

    #[test]
    fn redirects_keep_a_picked_language() {
        let mut to_order = response::redirect("/o/5?t=abc");
        response::carry_language(&mut to_order, "en");
        assert_eq!(to_order.headers()["location"], "/o/5?t=abc&lang=en");
        let mut to_item = response::redirect("/shop/menu#item-3");
        response::carry_language(&mut to_item, "en");
        assert_eq!(to_item.headers()["location"], "/shop/menu?lang=en#item-3");
        // Never onto another site.
        let mut away = response::redirect("//elsewhere.example/");
        response::carry_language(&mut away, "en");
        assert_eq!(away.headers()["location"], "//elsewhere.example/");
    }
}
