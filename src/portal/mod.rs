//! Captive-portal rules: which Host is the portal, which requests are an
//! operating system's connectivity probe, and what a client gets before and
//! after it accepts the portal in each mode. Plain functions; the HTTP and
//! DNS servers only carry their answers out.

pub(crate) mod clients;
pub mod dns;
pub(crate) mod firewall;
pub(crate) mod journeys;

use crate::support::i18n::Catalogue;
use crate::support::json::{Fields, JsonOut, Sorted, ToJson};
use crate::support::text::percent_encode_into;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No uplink: everything stays inside the venue, the portal answers the
    /// probes itself once a client accepts.
    Local,
    /// Accepted clients are let through the firewall and their DNS is
    /// forwarded upstream.
    Internet,
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "local" => Ok(Mode::Local),
            "internet" => Ok(Mode::Internet),
            other => Err(format!("unknown mode {other:?}: use local or internet")),
        }
    }
}

#[derive(Clone, Debug)]
pub struct PortalConfig {
    /// The portal's own name, lower case, e.g. `order.lan`.
    pub host: String,
    pub ip: Option<Ipv4Addr>,
    pub ip6: Option<Ipv6Addr>,
    pub mode: Mode,
    pub upstreams: Vec<SocketAddr>,
    /// The name the portal serves HTTPS on with the owner's certificate
    /// (feature `https`): it resolves to the portal, and the RFC 8908 API
    /// and its URLs use it.
    pub secure_host: Option<String>,
}

impl Default for PortalConfig {
    fn default() -> Self {
        PortalConfig {
            host: "order.lan".into(),
            ip: None,
            ip6: None,
            mode: Mode::Local,
            upstreams: Vec::new(),
            secure_host: None,
        }
    }
}

/// An operating system's "am I online?" request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Probe {
    Android,
    Apple,
    WindowsConnectTest,
    WindowsNcsi,
    FirefoxCanonical,
    FirefoxSuccess,
}

/// (hosts, paths, probe): a request is that probe when both match.
const PROBES: &[(&[&str], &[&str], Probe)] = &[
    (
        &[
            "connectivitycheck.gstatic.com",
            "connectivitycheck.android.com",
            "clients1.google.com",
            "clients3.google.com",
            "www.google.com",
            "play.googleapis.com",
        ],
        &["/generate_204", "/gen_204"],
        Probe::Android,
    ),
    (
        &[
            "captive.apple.com",
            "www.apple.com",
            "www.appleiphonecell.com",
            "www.itools.info",
            "www.ibook.info",
            "www.airport.us",
            "www.thinkdifferent.us",
        ],
        &["/hotspot-detect.html", "/library/test/success.html"],
        Probe::Apple,
    ),
    (
        &["www.msftconnecttest.com", "ipv6.msftconnecttest.com"],
        &["/connecttest.txt"],
        Probe::WindowsConnectTest,
    ),
    (
        &["www.msftncsi.com", "ipv6.msftncsi.com"],
        &["/ncsi.txt"],
        Probe::WindowsNcsi,
    ),
    (
        &["detectportal.firefox.com"],
        &["/canonical.html"],
        Probe::FirefoxCanonical,
    ),
    (
        &["detectportal.firefox.com"],
        &["/success.txt"],
        Probe::FirefoxSuccess,
    ),
];

/// Firefox compares the whole body of canonical.html with this.
const FIREFOX_CANONICAL: &str =
    "<meta http-equiv=\"refresh\" content=\"0;url=https://support.mozilla.org/kb/captive-portal\"/>";

impl Probe {
    /// The probe a request is, by its Host (as `host_name` returns it) and path.
    pub(crate) fn recognise(host: &str, path: &str) -> Option<Probe> {
        // Paths first: few, and most requests ask for none of them.
        PROBES
            .iter()
            .find(|(hosts, paths, _)| paths.contains(&path) && hosts.contains(&host))
            .map(|&(_, _, probe)| probe)
    }

    /// Status, content type and body that this OS reads as "online".
    pub(crate) fn online_answer(self) -> (u16, &'static str, &'static str) {
        match self {
            Probe::Android => (204, "text/plain", ""),
            Probe::Apple => (
                200,
                "text/html",
                "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>",
            ),
            Probe::WindowsConnectTest => (200, "text/plain", "Microsoft Connect Test"),
            Probe::WindowsNcsi => (200, "text/plain", "Microsoft NCSI"),
            Probe::FirefoxCanonical => (200, "text/html", FIREFOX_CANONICAL),
            Probe::FirefoxSuccess => (200, "text/plain", "success\n"),
        }
    }
}

/// Windows' connectivity check also resolves this name and wants these
/// addresses back; an accepted client in `local` mode gets them so Windows
/// reports the Wi-Fi as online.
pub(crate) const WINDOWS_DNS_PROBE: (&str, Ipv4Addr, Ipv6Addr) = (
    "dns.msftncsi.com",
    Ipv4Addr::new(131, 107, 255, 255),
    Ipv6Addr::new(0xfd3e, 0x4f5a, 0x5b81, 0, 0, 0, 0, 1),
);

/// Where a Wi-Fi client is in its visit, as the probe rule needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Visit {
    /// Has not accepted the portal (or its acceptance ended).
    Held,
    /// Accepted, no order placed during this acceptance.
    Browsing,
    /// Accepted, an order placed during this acceptance is still open.
    Waiting,
    /// Accepted, and every order it placed during this acceptance is
    /// completed or cancelled.
    Done,
}

/// What a request for some other site gets.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Intercept {
    /// Send the browser to the portal (`PortalConfig::write_redirect_location`).
    Redirect,
    /// Answer the probe with what its OS expects when online.
    Online(Probe),
}

/// A Host header reduced to the bare lower-case name or address: no port,
/// no IPv6 brackets, no trailing dot.
pub(crate) fn host_name(host: &str) -> String {
    let host = host.trim();
    let bare = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else if host.matches(':').count() == 1 {
        host.split(':').next().unwrap_or(host)
    } else {
        host
    };
    bare.trim_end_matches('.').to_ascii_lowercase()
}

impl PortalConfig {
    /// Whether a request for `host` (from `host_name`) is for the portal
    /// itself rather than a site it intercepts: the portal's name and
    /// addresses, the address the connection arrived on, and loopback.
    pub(crate) fn is_portal_host(&self, host: &str, local: Option<IpAddr>) -> bool {
        if self.is_own_name(host) || host == "localhost" {
            return true;
        }
        match host.parse::<IpAddr>() {
            Ok(ip) => {
                ip.is_loopback()
                    || Some(ip) == local
                    || Some(ip) == self.ip.map(IpAddr::V4)
                    || Some(ip) == self.ip6.map(IpAddr::V6)
            }
            Err(_) => false,
        }
    }

    /// The decision for a request to another site. A probe is answered
    /// "online" once the client accepted, except Android's and ChromeOS's
    /// in `local` mode until the client's visit is done: their sign-in
    /// window closes itself on "online" and is the only thing on the phone
    /// bound to an offline Wi-Fi, so it must stay open from Continue to
    /// pickup. In `internet` mode probes only reach us while the phone still
    /// caches a pre-acceptance DNS answer.
    /// `visit` is asked only for a probe: most requests are none.
    pub(crate) fn intercept(
        &self,
        host: &str,
        path: &str,
        visit: impl FnOnce() -> Visit,
    ) -> Intercept {
        match Probe::recognise(host, path) {
            Some(probe) if self.answers_online(probe, visit()) => Intercept::Online(probe),
            _ => Intercept::Redirect,
        }
    }

    fn answers_online(&self, probe: Probe, visit: Visit) -> bool {
        let window_closes = probe == Probe::Android && self.mode == Mode::Local;
        match visit {
            Visit::Held => false,
            Visit::Browsing | Visit::Waiting => !window_closes,
            Visit::Done => true,
        }
    }

    /// Whether `name` (lower case, no trailing dot) is one of the portal's
    /// own names, which always resolve to it.
    pub(crate) fn is_own_name(&self, name: &str) -> bool {
        name == self.host || self.secure_host.as_deref() == Some(name)
    }

    /// The base of the URLs the RFC 8908 API hands out: HTTPS on the
    /// certificate's name when there is one (RFC 8908 wants https; phones
    /// ignore anything else), else the portal's plain-HTTP name.
    fn api_base(&self) -> String {
        match &self.secure_host {
            Some(name) => format!("https://{name}"),
            None => format!("http://{}", self.host),
        }
    }

    /// Appends the landing page's URL with the URL the browser wanted,
    /// `http://{host}{path_and_query}` (`host` as the Host header sent it),
    /// kept as `url`. Written in place, with no copy of either URL: every
    /// intercepted request makes one.
    pub(crate) fn write_redirect_location(
        &self,
        out: &mut String,
        host: &str,
        path_and_query: &str,
    ) {
        out.push_str("http://");
        out.push_str(&self.host);
        // "http://" percent-encoded.
        out.push_str("/?url=http%3A%2F%2F");
        percent_encode_into(out, host);
        percent_encode_into(out, path_and_query);
    }

    /// The most bytes `write_redirect_location` writes for these parts.
    pub(crate) fn redirect_location_max_len(&self, host: &str, path_and_query: &str) -> usize {
        "http:///?url=http%3A%2F%2F".len()
            + self.host.len()
            + 3 * (host.len() + path_and_query.len())
    }

    /// Whether redirect locations go into HTML and a `Location` header as
    /// they are: the encoded URL never holds a character HTML escapes or a
    /// header refuses, so only the portal's name can.
    pub(crate) fn redirect_is_plain(&self) -> bool {
        self.host.bytes().all(|b| {
            let in_header = b == b'\t' || (b >= b' ' && b != 0x7f);
            in_header && !matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'')
        })
    }

    pub(crate) fn landing_url(&self) -> String {
        format!("{}/welcome", self.api_base())
    }

    /// The RFC 8910 DHCP option 114 / RA value: the RFC 8908 API's URL.
    pub(crate) fn api_url(&self) -> String {
        format!("{}/captive-portal/api", self.api_base())
    }

    /// The RFC 8908 API document for one client.
    pub(crate) fn captive_json(&self, seconds_remaining: Option<i64>) -> Vec<u8> {
        let captive = seconds_remaining.is_none();
        let (portal, venue) = (self.landing_url(), format!("{}/", self.api_base()));
        let seconds = seconds_remaining.map(|s| s.max(0));
        let mut fields: Vec<(&str, &dyn ToJson)> = vec![
            ("captive", &captive),
            ("user-portal-url", &portal),
            ("venue-info-url", &venue),
        ];
        if let Some(seconds) = &seconds {
            fields.push(("seconds-remaining", seconds));
        }
        // Keys in byte order, as when this was a `serde_json::Value`.
        JsonOut::write(&Sorted(&Fields(&fields)))
    }
}

/// The short page some phones show with a redirect.
pub(crate) fn redirect_body(location: &str, language: &Catalogue) -> String {
    let title = language.html("portal.redirect_title", |_| None);
    let text = language.html("portal.redirect_html", |name| {
        (name == "href").then(|| location.to_string())
    });
    format!("<!doctype html><meta charset=\"utf-8\"><title>{title}</title><p>{text}</p>\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(mode: Mode) -> PortalConfig {
        PortalConfig {
            ip: Some(Ipv4Addr::new(10, 213, 0, 1)),
            ip6: Some("fd00::1".parse().unwrap()),
            mode,
            ..PortalConfig::default()
        }
    }

    /// Every probe we recognise, with one URL each OS really fetches.
    const CASES: &[(&str, &str, Probe)] = &[
        (
            "connectivitycheck.gstatic.com",
            "/generate_204",
            Probe::Android,
        ),
        ("clients3.google.com", "/generate_204", Probe::Android),
        ("www.google.com", "/gen_204", Probe::Android),
        ("captive.apple.com", "/hotspot-detect.html", Probe::Apple),
        ("www.apple.com", "/library/test/success.html", Probe::Apple),
        (
            "www.msftconnecttest.com",
            "/connecttest.txt",
            Probe::WindowsConnectTest,
        ),
        ("www.msftncsi.com", "/ncsi.txt", Probe::WindowsNcsi),
        (
            "detectportal.firefox.com",
            "/canonical.html",
            Probe::FirefoxCanonical,
        ),
        (
            "detectportal.firefox.com",
            "/success.txt",
            Probe::FirefoxSuccess,
        ),
    ];

    #[test]
    fn probes_are_recognised_by_host_and_path() {
        for &(host, path, probe) in CASES {
            assert_eq!(Probe::recognise(host, path), Some(probe), "{host}{path}");
        }
        assert_eq!(Probe::recognise("example.com", "/generate_204"), None);
        assert_eq!(Probe::recognise("captive.apple.com", "/"), None);
        assert_eq!(
            Probe::recognise("www.msftncsi.com", "/connecttest.txt"),
            None
        );
    }

    #[test]
    fn online_answers_are_what_each_os_expects() {
        let body = |p: Probe| p.online_answer();
        assert_eq!(body(Probe::Android), (204, "text/plain", ""));
        assert!(body(Probe::Apple).2.contains("<TITLE>Success</TITLE>"));
        assert_eq!(body(Probe::WindowsConnectTest).2, "Microsoft Connect Test");
        assert_eq!(body(Probe::WindowsNcsi).2, "Microsoft NCSI");
        assert!(body(Probe::FirefoxCanonical)
            .2
            .contains("support.mozilla.org/kb/captive-portal"));
        assert_eq!(body(Probe::FirefoxSuccess).2, "success\n");
    }

    #[test]
    fn every_probe_is_redirected_before_acceptance_in_both_modes() {
        for mode in [Mode::Local, Mode::Internet] {
            for &(host, path, _) in CASES {
                assert_eq!(
                    config(mode).intercept(host, path, || Visit::Held),
                    Intercept::Redirect,
                    "{mode:?} {host}{path}"
                );
            }
        }
    }

    #[test]
    fn probes_are_answered_online_after_acceptance_but_androids_in_local_mode() {
        for mode in [Mode::Local, Mode::Internet] {
            for visit in [Visit::Browsing, Visit::Waiting, Visit::Done] {
                for &(host, path, probe) in CASES {
                    let keeps_window_open =
                        probe == Probe::Android && mode == Mode::Local && visit != Visit::Done;
                    let expected = if keeps_window_open {
                        Intercept::Redirect
                    } else {
                        Intercept::Online(probe)
                    };
                    assert_eq!(
                        config(mode).intercept(host, path, || visit),
                        expected,
                        "{mode:?} {visit:?} {host}{path}"
                    );
                }
            }
        }
    }

    #[test]
    fn other_sites_are_always_sent_to_the_portal_without_asking_the_visit() {
        for host in ["example.com", "connectivitycheck.gstatic.com"] {
            assert_eq!(
                config(Mode::Local).intercept(host, "/a", || unreachable!("no probe")),
                Intercept::Redirect
            );
        }
    }

    fn redirect_location(c: &PortalConfig, host: &str, path_and_query: &str) -> String {
        let mut out = String::new();
        c.write_redirect_location(&mut out, host, path_and_query);
        assert!(out.len() <= c.redirect_location_max_len(host, path_and_query));
        out
    }

    #[test]
    fn redirects_keep_the_wanted_url_percent_encoded() {
        let c = config(Mode::Local);
        assert_eq!(
            redirect_location(&c, "example.com", "/a?b=c&d"),
            "http://order.lan/?url=http%3A%2F%2Fexample.com%2Fa%3Fb%3Dc%26d"
        );
        for (host, path_and_query) in [
            ("EXAMPLE.com.:8080", "/a b?q=\"<x>\"&y='1'"),
            ("[fe80::1]:80", "/%zz/../\u{202e}ünï"),
            ("\u{1}\u{ff}", "\u{7f}"),
        ] {
            let original = format!("http://{host}{path_and_query}");
            let location = redirect_location(&c, host, path_and_query);
            assert_eq!(
                location,
                format!(
                    "http://order.lan/?url={}",
                    crate::support::text::percent_encode(&original)
                )
            );
            assert!(location.bytes().all(|b| b.is_ascii_graphic()), "{location}");
            assert!(!location.contains(['&', '<', '>', '"', '\'']), "{location}");
        }
        // The upper bound holds when every byte needs encoding.
        let all: String = (0u8..128).map(char::from).collect();
        redirect_location(&c, &all, &all);
    }

    #[test]
    fn only_the_portals_name_can_make_a_redirect_need_escaping() {
        assert!(config(Mode::Local).redirect_is_plain());
        for odd in ["a&b", "a<b", "a>b", "a\"b", "a'b", "a\nb", "a\u{7f}b"] {
            let c = PortalConfig {
                host: odd.into(),
                ..config(Mode::Local)
            };
            assert!(!c.redirect_is_plain(), "{odd:?}");
        }
    }

    #[test]
    fn the_portal_is_known_by_name_address_and_arrival_address() {
        let c = config(Mode::Local);
        let local = Some("192.168.1.1".parse().unwrap());
        for host in [
            "order.lan",
            "10.213.0.1",
            "fd00::1",
            "127.0.0.1",
            "::1",
            "localhost",
            "192.168.1.1",
        ] {
            assert!(c.is_portal_host(host, local), "{host}");
        }
        for host in ["example.com", "8.8.8.8", "order.lan.evil", "192.168.1.2"] {
            assert!(!c.is_portal_host(host, local), "{host}");
        }
    }

    #[test]
    fn host_headers_are_reduced_to_the_name() {
        assert_eq!(host_name("Order.LAN:8080"), "order.lan");
        assert_eq!(host_name("captive.apple.com."), "captive.apple.com");
        assert_eq!(host_name("[fd00::1]:80"), "fd00::1");
        assert_eq!(host_name("fd00::1"), "fd00::1");
        assert_eq!(host_name("10.0.0.1:80"), "10.0.0.1");
    }

    #[test]
    fn captive_api_says_captive_until_accepted() {
        let c = config(Mode::Internet);
        let before: serde_json::Value = serde_json::from_slice(&c.captive_json(None)).unwrap();
        assert_eq!(before["captive"], true);
        assert_eq!(before["user-portal-url"], "http://order.lan/welcome");
        assert_eq!(before["venue-info-url"], "http://order.lan/");
        assert!(before.get("seconds-remaining").is_none());
        let after: serde_json::Value = serde_json::from_slice(&c.captive_json(Some(3600))).unwrap();
        assert_eq!(after["captive"], false);
        assert_eq!(after["seconds-remaining"], 3600);
        assert_eq!(c.api_url(), "http://order.lan/captive-portal/api");
    }

    #[test]
    fn with_a_certificate_the_api_speaks_https_on_its_name() {
        let c = PortalConfig {
            secure_host: Some("order.venue.example".into()),
            ..config(Mode::Local)
        };
        assert_eq!(
            c.api_url(),
            "https://order.venue.example/captive-portal/api"
        );
        let doc: serde_json::Value = serde_json::from_slice(&c.captive_json(None)).unwrap();
        assert_eq!(
            doc["user-portal-url"],
            "https://order.venue.example/welcome"
        );
        assert_eq!(doc["venue-info-url"], "https://order.venue.example/");
        assert!(c.is_portal_host("order.venue.example", None));
        assert!(c.is_own_name("order.lan") && c.is_own_name("order.venue.example"));
        assert!(!c.is_own_name("venue.example"));
        // Redirects stay plain HTTP on the short name: the phone's sheet
        // opened on http://, and every client can reach it.
        assert!(redirect_location(&c, "x", "/").starts_with("http://order.lan/"));
    }

    #[test]
    fn redirect_bodies_link_the_portal() {
        let body = redirect_body("http://order.lan/?url=a&b", crate::support::i18n::english());
        assert!(body.contains("href=\"http://order.lan/?url=a&amp;b\""));
        assert_eq!("internet".parse::<Mode>(), Ok(Mode::Internet));
        assert!("other".parse::<Mode>().is_err());
    }
}
