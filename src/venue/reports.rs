//! Reports per shop and for the venue over days in the venue's time zone:
//! orders, revenue (completed orders), preparation times (placed → ready),
//! top items with their options and orders per hour; as figures, a small
//! SVG bar chart and a CSV a spreadsheet opens as it should.

use crate::error::{Code, Error, Result};
use crate::store::reports::{self, ItemSales, Orders, ShopDay, Totals};
use crate::store::stations::MarkRow;
use crate::support::json::json_object;
use crate::support::money::MoneyFormat;
use crate::support::time::{self, LocalTime, Zone};
use rusqlite::Connection;

/// Longest range one report covers, so a request cannot ask for decades.
pub const MAX_DAYS: i64 = 366;
const TOP_ITEMS: i64 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

impl Date {
    /// "YYYY-MM-DD", a real day between the years 2000 and 9999.
    pub fn parse(field: &'static str, text: &str) -> Result<Date> {
        let bad = || Error::bad(Code::ReportBadDate).with("field", field);
        let mut parts = text.trim().splitn(3, '-');
        let mut next = |len: usize| {
            parts
                .next()
                .filter(|p| p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<i32>().ok())
                .ok_or_else(bad)
        };
        let (year, month, day) = (next(4)?, next(2)?, next(2)?);
        if year < 2000 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        let (month, day) = (month as u8, u8::try_from(day).map_err(|_| bad())?);
        if day == 0 || day > days_in_month(year, month) {
            return Err(bad());
        }
        Ok(Date { year, month, day })
    }

    pub fn next(self) -> Date {
        if self.day < days_in_month(self.year, self.month) {
            Date {
                day: self.day + 1,
                ..self
            }
        } else if self.month < 12 {
            Date {
                month: self.month + 1,
                day: 1,
                ..self
            }
        } else {
            Date {
                year: self.year + 1,
                month: 1,
                day: 1,
            }
        }
    }

    /// The day `ms` falls on in `zone`.
    pub fn of(zone: &Zone, ms: i64) -> Date {
        let t = time::to_local(zone, ms).unwrap_or(LocalTime {
            year: 2000,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
        });
        Date {
            year: t.year,
            month: t.month,
            day: t.day,
        }
    }

    /// The instant this day starts in `zone` (UTC ms).
    fn start(self, zone: &Zone) -> Result<i64> {
        let local = LocalTime {
            year: self.year,
            month: self.month,
            day: self.day,
            hour: 0,
            minute: 0,
        };
        time::to_utc_ms(zone, local)
            .ok_or_else(|| Error::bad(Code::ReportBadDate).with("field", "from"))
    }
}

/// The days `first..=last` as UTC ms `[from, to)` in `zone`.
pub fn span(zone: &Zone, first: Date, last: Date) -> Result<(i64, i64)> {
    let from = first.start(zone)?;
    let to = last.next().start(zone)?;
    let days = (to - from + 12 * 3_600_000) / 86_400_000;
    if last < first || days > MAX_DAYS {
        return Err(Error::bad(Code::ReportBadRange).with("max", MAX_DAYS));
    }
    Ok((from, to))
}

#[derive(Debug, Clone, PartialEq)]
pub struct TopItem {
    pub name: String,
    pub options: String,
    pub qty: i64,
    pub revenue_cents: i64,
}
json_object!(TopItem: name, options, qty, revenue_cents);

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub shop_id: Option<i64>,
    pub from: String,
    pub to: String,
    /// Orders placed in the period, whatever became of them.
    pub orders: i64,
    pub completed: i64,
    pub cancelled: i64,
    /// The totals of completed orders.
    pub revenue_cents: i64,
    pub average_order_cents: i64,
    /// Placed → ready, over the orders that got ready; `None` without any.
    pub prep_average_ms: Option<i64>,
    /// The end of the whole minute holding the 95th percentile.
    pub prep_p95_ms: Option<i64>,
    pub top_items: Vec<TopItem>,
    /// Orders placed in each local hour of the day, 0–23, over all days.
    pub per_hour: [i64; 24],
    /// Money taken for the period's orders, per method.
    pub by_method: Vec<MethodTotal>,
    /// Refunds on the period's orders.
    pub refunded_cents: i64,
    /// Waste recorded in the period, per ingredient.
    pub waste: Vec<Waste>,
    /// Each kitchen station's days (ranges up to `MAX_STATION_DAYS`).
    pub stations: Vec<StationDay>,
}
json_object!(Report: shop_id, from, to, orders, completed, cancelled, revenue_cents,
    average_order_cents, prep_average_ms, prep_p95_ms, top_items, per_hour, by_method,
    refunded_cents, waste, stations);

#[derive(Debug, Clone, PartialEq)]
pub struct MethodTotal {
    pub method: String,
    pub amount_cents: i64,
    pub tip_cents: i64,
    pub payments: i64,
}
json_object!(MethodTotal: method, amount_cents, tip_cents, payments);

#[derive(Debug, Clone, PartialEq)]
pub struct Waste {
    pub shop: String,
    pub ingredient: String,
    pub qty: i64,
    pub entries: i64,
}
json_object!(Waste: shop, ingredient, qty, entries);

/// A station's day: items it made for the orders placed that day, and
/// how long from placement to its "done" (median, 95th percentile).
#[derive(Debug, Clone, PartialEq)]
pub struct StationDay {
    pub station_id: i64,
    pub station: String,
    /// "YYYY-MM-DD" in the venue's zone.
    pub day: String,
    pub items: i64,
    pub median_ms: i64,
    pub p95_ms: i64,
}
json_object!(StationDay: station_id, station, day, items, median_ms, p95_ms);

/// Station figures read every mark of the range: beyond a month they
/// would cost too much, so longer reports leave them out.
pub const MAX_STATION_DAYS: i64 = 31;
/// Ingredients the waste table lists, most wasted first.
const WASTE_SHOWN: i64 = 50;

/// Per day and station: items, median and 95th percentile of the times.
pub fn station_days(zone: &Zone, marks: Vec<MarkRow>) -> Vec<StationDay> {
    // Sorted by day, station and time: each station's day is then a run
    // of rows with its times in order.
    let mut rows: Vec<(Date, String, i64, i64, i64)> = marks
        .into_iter()
        .map(|m| {
            let day = Date::of(zone, m.placed_at);
            (day, m.station, m.station_id, m.took_ms, m.items)
        })
        .collect();
    rows.sort_unstable();
    let mut days = Vec::new();
    for run in rows.chunk_by(|a, b| (a.0, &a.1, a.2) == (b.0, &b.1, b.2)) {
        let times: Vec<i64> = run.iter().map(|r| r.3).collect();
        days.push(StationDay {
            station_id: run[0].2,
            station: run[0].1.clone(),
            day: run[0].0.to_string(),
            items: run.iter().map(|r| r.4).sum(),
            median_ms: percentile(&times, 50).unwrap_or(0),
            p95_ms: percentile(&times, 95).unwrap_or(0),
        });
    }
    days
}

/// Where a report's figures come from: the rollups (migration 016) with
/// the open orders read directly, or every order of the range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Rollups,
    Orders,
}

const QUARTER_MS: i64 = 900_000;
/// Placement to ready is counted in whole minutes up to this many; longer
/// times count as this (the same bound as migration 016's `report_prep`).
const PREP_MINUTES_MAX: i64 = 1440;

/// The whole minute `ms` from placement to ready falls in.
pub fn prep_minute(ms: i64) -> i64 {
    (ms.max(0) / 60_000).min(PREP_MINUTES_MAX)
}

/// The report of `shop` (or the venue) for the days `first..=last`: from
/// the rollups when the days are whole quarter hours (every zone's are),
/// else from the orders themselves.
pub fn build(
    conn: &Connection,
    zone: &Zone,
    shop: Option<i64>,
    first: Date,
    last: Date,
) -> Result<Report> {
    let (from, to) = span(zone, first, last)?;
    let source = if from % QUARTER_MS == 0 && to % QUARTER_MS == 0 {
        Source::Rollups
    } else {
        Source::Orders
    };
    build_from(conn, zone, shop, first, last, source)
}

/// Order figures, whichever the source.
#[derive(Default)]
struct Figures {
    totals: Totals,
    refunded_cents: i64,
    prep_orders: i64,
    prep_ms: i64,
    /// Orders per whole minute (`prep_minute`), indexed by the minute.
    prep_minutes: Vec<i64>,
    quarters: Vec<(i64, i64)>,
    items: Vec<ItemSales>,
    by_method: Vec<(String, i64, i64, i64)>,
}

impl Figures {
    fn add_prep_times(&mut self, times: &[i64]) {
        for &ms in times {
            self.prep_orders += 1;
            self.prep_ms += ms;
            self.count_minute(prep_minute(ms), 1);
        }
    }

    fn count_minute(&mut self, minute: i64, orders: i64) {
        if self.prep_minutes.is_empty() {
            self.prep_minutes = vec![0; PREP_MINUTES_MAX as usize + 1];
        }
        self.prep_minutes[minute.clamp(0, PREP_MINUTES_MAX) as usize] += orders;
    }

    fn from_orders(conn: &Connection, from: i64, to: i64, shop: Option<i64>) -> Result<Figures> {
        let mut figures = Figures {
            totals: reports::totals(conn, from, to, shop, Orders::All)?,
            refunded_cents: reports::refunded(conn, from, to, shop)?,
            quarters: reports::quarter_hours(conn, from, to, shop, Orders::All)?,
            items: reports::top_items(conn, from, to, shop, Orders::All, TOP_ITEMS)?,
            by_method: reports::by_payment_method(conn, from, to, shop)?,
            ..Figures::default()
        };
        figures.add_prep_times(&reports::prep_times(conn, from, to, shop, Orders::All)?);
        Ok(figures)
    }

    /// The rollups' finished orders and payments, and the open orders.
    fn from_rollups(conn: &Connection, from: i64, to: i64, shop: Option<i64>) -> Result<Figures> {
        let (first, end) = (from / QUARTER_MS, to / QUARTER_MS);
        let rollup = reports::rollup(conn, first, end, shop)?;
        let open = reports::totals(conn, from, to, shop, Orders::Open)?;
        let mut figures = Figures {
            totals: Totals {
                orders: rollup.totals.orders + open.orders,
                ..rollup.totals
            },
            refunded_cents: rollup.refunded_cents,
            prep_orders: rollup.prep_orders,
            prep_ms: rollup.prep_ms,
            prep_minutes: Vec::new(),
            quarters: reports::rollup_quarter_hours(conn, first, end, shop)?,
            items: reports::rollup_items(conn, first, end, shop)?,
            by_method: reports::rollup_methods(conn, first, end, shop)?,
        };
        for (minute, orders) in reports::rollup_prep_minutes(conn, first, end, shop)? {
            figures.count_minute(minute, orders);
        }
        figures.add_prep_times(&reports::prep_times(conn, from, to, shop, Orders::Open)?);
        figures
            .quarters
            .extend(reports::quarter_hours(conn, from, to, shop, Orders::Open)?);
        // The open orders' sales added to the rollups' of the same item
        // and options: sorted by both, each pair is one run.
        let mut sales = std::mem::take(&mut figures.items);
        sales.extend(reports::top_items(conn, from, to, shop, Orders::Open, -1)?);
        sort_sales(&mut sales, |a, b| {
            (&a.name, &a.options).cmp(&(&b.name, &b.options))
        });
        for sale in sales {
            match figures.items.last_mut() {
                Some(last) if last.name == sale.name && last.options == sale.options => {
                    last.qty += sale.qty;
                    last.revenue_cents += sale.revenue_cents;
                }
                _ => figures.items.push(sale),
            }
        }
        // As the direct query orders them.
        sort_sales(&mut figures.items, |a, b| {
            (b.qty, b.revenue_cents, &a.name, &a.options).cmp(&(
                a.qty,
                a.revenue_cents,
                &b.name,
                &b.options,
            ))
        });
        figures.items.truncate(TOP_ITEMS as usize);
        Ok(figures)
    }
}

/// Sorts sales whose name and options are unique (so no two are equal):
/// one sort for both orders, the comparison passed as a plain function.
fn sort_sales(sales: &mut [ItemSales], by: fn(&ItemSales, &ItemSales) -> std::cmp::Ordering) {
    sales.sort_unstable_by(by);
}

/// The report of `shop` (or the venue) for the days `first..=last`, from
/// `source`.
pub fn build_from(
    conn: &Connection,
    zone: &Zone,
    shop: Option<i64>,
    first: Date,
    last: Date,
    source: Source,
) -> Result<Report> {
    let (from, to) = span(zone, first, last)?;
    let figures = match source {
        Source::Rollups => Figures::from_rollups(conn, from, to, shop)?,
        Source::Orders => Figures::from_orders(conn, from, to, shop)?,
    };
    let Totals {
        orders,
        completed,
        cancelled,
        revenue_cents,
    } = figures.totals;
    let top_items = figures
        .items
        .into_iter()
        .map(
            |ItemSales {
                 name,
                 options,
                 qty,
                 revenue_cents,
             }| TopItem {
                name,
                options,
                qty,
                revenue_cents,
            },
        )
        .collect();
    let days = (to - from + 12 * 3_600_000) / 86_400_000;
    let stations = if days <= MAX_STATION_DAYS {
        station_days(zone, crate::store::stations::marks(conn, from, to, shop)?)
    } else {
        Vec::new()
    };
    let by_method = figures
        .by_method
        .into_iter()
        .map(|(method, amount_cents, tip_cents, payments)| MethodTotal {
            method,
            amount_cents,
            tip_cents,
            payments,
        })
        .collect();
    let waste = reports::waste(conn, from, to, shop, WASTE_SHOWN)?
        .into_iter()
        .map(|w| Waste {
            shop: w.shop,
            ingredient: w.ingredient,
            qty: w.qty,
            entries: w.entries,
        })
        .collect();
    Ok(Report {
        by_method,
        refunded_cents: figures.refunded_cents,
        waste,
        stations,
        shop_id: shop,
        from: first.to_string(),
        to: last.to_string(),
        orders,
        completed,
        cancelled,
        revenue_cents,
        average_order_cents: if completed > 0 {
            revenue_cents / completed
        } else {
            0
        },
        prep_average_ms: (figures.prep_orders > 0).then(|| figures.prep_ms / figures.prep_orders),
        prep_p95_ms: minutes_percentile(&figures.prep_minutes, 95),
        top_items,
        per_hour: per_local_hour(zone, &figures.quarters),
    })
}

/// The nearest-rank percentile `p` of counts per whole minute, as the
/// end of its minute: at most a minute above the exact figure.
pub fn minutes_percentile(counts: &[i64], p: i64) -> Option<i64> {
    let total: i64 = counts.iter().sum();
    let rank = (total * p + 99) / 100;
    let mut seen = 0;
    for (minute, &count) in counts.iter().enumerate() {
        seen += count;
        if total > 0 && seen >= rank.max(1) {
            return Some((minute as i64 + 1) * 60_000);
        }
    }
    None
}

/// The nearest-rank percentile `p` of ascending `sorted` values.
pub fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// Counts per quarter hour since the epoch, summed into local hours.
pub fn per_local_hour(zone: &Zone, quarters: &[(i64, i64)]) -> [i64; 24] {
    let mut hours = [0; 24];
    for &(quarter, count) in quarters {
        if let Some(t) = time::to_local(zone, quarter * 900_000) {
            hours[usize::from(t.hour) % 24] += count;
        }
    }
    hours
}

/// Each shop's day at a glance: `(shop id, figures)` for the venue's today.
pub fn today_by_shop(conn: &Connection, zone: &Zone, now: i64) -> Result<Vec<(i64, ShopDay)>> {
    let today = Date::of(zone, now);
    let (from, to) = span(zone, today, today)?;
    Ok(reports::shops_at_a_glance(conn, from, to)?)
}

/// Bars of orders per hour as a small SVG that scales to the page's width.
pub fn hour_chart_svg(per_hour: &[i64; 24], title: &str) -> String {
    const BAR: i64 = 20;
    const HEIGHT: i64 = 120;
    let max = per_hour.iter().copied().max().unwrap_or(0).max(1);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\" \
         xmlns=\"http://www.w3.org/2000/svg\">",
        BAR * 24,
        HEIGHT + 30,
        crate::support::i18n::escape_html(title)
    );
    for (hour, &count) in per_hour.iter().enumerate() {
        let x = hour as i64 * BAR;
        let height = count * HEIGHT / max;
        svg.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{height}\"><title>{hour:02}:00 {count}</title></rect>",
            x + 2,
            HEIGHT - height + 14,
            BAR - 4,
        ));
        if count > 0 && height >= 14 {
            svg.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" class=\"n\">{count}</text>",
                x + BAR / 2,
                HEIGHT - height + 12
            ));
        }
        if hour % 3 == 0 {
            svg.push_str(&format!(
                "<text x=\"{}\" y=\"{}\">{hour:02}</text>",
                x + BAR / 2,
                HEIGHT + 28
            ));
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Money taken per payment method as horizontal bars, longest for the
/// most; `labels` name each method in the reader's language.
pub fn method_chart_svg(methods: &[(String, i64)], title: &str) -> String {
    const WIDTH: i64 = 480;
    const ROW: i64 = 28;
    let max = methods.iter().map(|m| m.1).max().unwrap_or(0).max(1);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {}\" role=\"img\" aria-label=\"{}\" \
         xmlns=\"http://www.w3.org/2000/svg\">",
        ROW * methods.len().max(1) as i64,
        crate::support::i18n::escape_html(title)
    );
    for (row, (label, cents)) in methods.iter().enumerate() {
        let y = row as i64 * ROW;
        svg.push_str(&format!(
            "<rect x=\"120\" y=\"{}\" width=\"{}\" height=\"{}\"></rect>\
             <text x=\"114\" y=\"{}\" text-anchor=\"end\">{}</text>",
            y + 4,
            (WIDTH - 124) * cents / max,
            ROW - 8,
            y + ROW - 9,
            crate::support::i18n::escape_html(label)
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// One CSV field, always quoted; a field a spreadsheet would read as a
/// formula (starting with = + - @, a tab or a carriage return) is escaped
/// with a leading apostrophe.
pub fn csv_field(text: &str) -> String {
    let guarded = match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

fn csv_row(out: &mut String, fields: &[&str]) {
    let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&row.join(","));
    out.push_str("\r\n");
}

/// The report as CSV: UTF-8 with a byte-order mark (so spreadsheets read
/// it as UTF-8), CRLF lines; a block of figures, then top items, then
/// orders per hour. Amounts are plain numbers in the venue's currency.
pub fn csv(report: &Report, shop_name: &str, money: &MoneyFormat) -> String {
    let amount = |cents: i64| {
        let plain = MoneyFormat {
            symbol: String::new(),
            thousands_separator: String::new(),
            decimal_separator: ".".into(),
            ..money.clone()
        };
        plain.amount(cents)
    };
    let minutes =
        |ms: Option<i64>| ms.map_or(String::new(), |ms| format!("{:.1}", ms as f64 / 60_000.0));
    let mut out = String::from("\u{feff}");
    csv_row(&mut out, &["report", shop_name, &report.from, &report.to]);
    csv_row(&mut out, &["orders", &report.orders.to_string()]);
    csv_row(&mut out, &["completed", &report.completed.to_string()]);
    csv_row(&mut out, &["cancelled", &report.cancelled.to_string()]);
    csv_row(&mut out, &["revenue", &amount(report.revenue_cents)]);
    csv_row(
        &mut out,
        &["average order", &amount(report.average_order_cents)],
    );
    csv_row(
        &mut out,
        &[
            "average preparation minutes",
            &minutes(report.prep_average_ms),
        ],
    );
    csv_row(
        &mut out,
        &[
            "95th percentile preparation minutes",
            &minutes(report.prep_p95_ms),
        ],
    );
    out.push_str("\r\n");
    csv_row(&mut out, &["item", "options", "quantity", "revenue"]);
    for item in &report.top_items {
        csv_row(
            &mut out,
            &[
                &item.name,
                &item.options,
                &item.qty.to_string(),
                &amount(item.revenue_cents),
            ],
        );
    }
    out.push_str("\r\n");
    csv_row(&mut out, &["payment method", "amount", "tips", "payments"]);
    for m in &report.by_method {
        csv_row(
            &mut out,
            &[
                &m.method,
                &amount(m.amount_cents),
                &amount(m.tip_cents),
                &m.payments.to_string(),
            ],
        );
    }
    csv_row(&mut out, &["refunded", &amount(report.refunded_cents)]);
    out.push_str("\r\n");
    csv_row(&mut out, &["waste", "shop", "quantity", "entries"]);
    for w in &report.waste {
        csv_row(
            &mut out,
            &[
                &w.ingredient,
                &w.shop,
                &w.qty.to_string(),
                &w.entries.to_string(),
            ],
        );
    }
    out.push_str("\r\n");
    csv_row(
        &mut out,
        &[
            "station",
            "day",
            "items",
            "median minutes",
            "95th percentile minutes",
        ],
    );
    for d in &report.stations {
        csv_row(
            &mut out,
            &[
                &d.station,
                &d.day,
                &d.items.to_string(),
                &minutes(Some(d.median_ms)),
                &minutes(Some(d.p95_ms)),
            ],
        );
    }
    out.push_str("\r\n");
    csv_row(&mut out, &["hour", "orders"]);
    for (hour, count) in report.per_hour.iter().enumerate() {
        csv_row(&mut out, &[&format!("{hour:02}:00"), &count.to_string()]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse("from", text).unwrap()
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("Noodles"), "\"Noodles\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "\"'=1+1\"");
        assert_eq!(csv_field("+49 30"), "\"'+49 30\"");
        assert_eq!(csv_field("-2"), "\"'-2\"");
        assert_eq!(csv_field("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(csv_field("\tx"), "\"'\tx\"");
        assert_eq!(csv_field("\rx"), "\"'\rx\"");
        assert_eq!(csv_field("a=b, c"), "\"a=b, c\"");
        assert_eq!(csv_field(""), "\"\"");
    }

    #[test]
    fn csv_starts_with_a_byte_order_mark_and_quotes_every_field() {
        let report = Report {
            shop_id: None,
            from: "2024-05-01".into(),
            to: "2024-05-01".into(),
            orders: 2,
            completed: 1,
            cancelled: 1,
            revenue_cents: 1250,
            average_order_cents: 1250,
            prep_average_ms: Some(90_000),
            prep_p95_ms: Some(90_000),
            top_items: vec![TopItem {
                name: "=cmd".into(),
                options: "Size: Large".into(),
                qty: 2,
                revenue_cents: 1250,
            }],
            per_hour: [0; 24],
            by_method: vec![MethodTotal {
                method: "card".into(),
                amount_cents: 1000,
                tip_cents: 100,
                payments: 1,
            }],
            refunded_cents: 250,
            waste: vec![Waste {
                shop: "Café".into(),
                ingredient: "Milk".into(),
                qty: 3,
                entries: 2,
            }],
            stations: vec![StationDay {
                station_id: 1,
                station: "Grill".into(),
                day: "2024-05-01".into(),
                items: 4,
                median_ms: 60_000,
                p95_ms: 120_000,
            }],
        };
        let text = csv(&report, "Café", &MoneyFormat::default());
        assert!(text.contains("\"card\",\"10.00\",\"1.00\",\"1\"\r\n"));
        assert!(text.contains("\"refunded\",\"2.50\"\r\n"));
        assert!(text.contains("\"Milk\",\"Café\",\"3\",\"2\"\r\n"));
        assert!(text.contains("\"Grill\",\"2024-05-01\",\"4\",\"1.0\",\"2.0\"\r\n"));
        assert!(text.starts_with("\u{feff}\"report\",\"Café\""));
        assert!(text.contains("\"revenue\",\"12.50\"\r\n"));
        assert!(text.contains("\"average preparation minutes\",\"1.5\""));
        assert!(text.contains("\"'=cmd\",\"Size: Large\",\"2\",\"12.50\""));
        assert!(text.contains("\"23:00\",\"0\"\r\n"));
    }

    #[test]
    fn dates_parse_only_real_days() {
        assert_eq!(
            date("2024-02-29"),
            Date {
                year: 2024,
                month: 2,
                day: 29
            }
        );
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "24-01-01",
            "2024-01-00",
            "x",
            "2024-01-01x",
            "1999-12-31",
        ] {
            assert!(Date::parse("from", bad).is_err(), "{bad}");
        }
        assert_eq!(date("2024-12-31").next(), date("2025-01-01"));
        assert_eq!(date("2024-02-28").next(), date("2024-02-29"));
        assert_eq!(date("2023-02-28").next(), date("2023-03-01"));
    }

    #[test]
    fn a_span_is_local_midnight_to_midnight_and_bounded() {
        let berlin = time::parse_rule("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        // 2024-03-31 has 23 hours in Berlin; it starts at 2024-03-30T23:00Z.
        let (from, to) = span(&berlin, date("2024-03-31"), date("2024-03-31")).unwrap();
        assert_eq!(from, 1_711_839_600_000);
        assert_eq!(to - from, 23 * 3_600_000);
        assert!(span(&berlin, date("2024-03-31"), date("2024-03-30")).is_err());
        assert!(span(&berlin, date("2024-01-01"), date("2024-12-31")).is_ok());
        assert!(span(&berlin, date("2024-01-01"), date("2025-01-01")).is_err());
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let values: Vec<i64> = (1..=20).collect();
        assert_eq!(percentile(&values, 95), Some(19));
        assert_eq!(percentile(&values[..1], 95), Some(1));
        assert_eq!(percentile(&[], 95), None);
        let minutes = |pairs: &[(usize, i64)]| {
            let mut counts = vec![0; 10];
            for &(minute, orders) in pairs {
                counts[minute] = orders;
            }
            counts
        };
        // 20 orders: 19 within minute 3, the 20th in minute 9.
        assert_eq!(
            minutes_percentile(&minutes(&[(3, 19), (9, 1)]), 95),
            Some(4 * 60_000)
        );
        assert_eq!(
            minutes_percentile(&minutes(&[(3, 18), (9, 2)]), 95),
            Some(10 * 60_000)
        );
        assert_eq!(minutes_percentile(&minutes(&[(0, 0)]), 95), None);
        assert_eq!(prep_minute(59_999), 0);
        assert_eq!(prep_minute(-5), 0);
        assert_eq!(prep_minute(90 * 86_400_000), 1440);
    }

    #[test]
    fn station_days_count_items_and_take_percentiles_per_station_and_day() {
        let utc = time::parse_rule("UTC0").unwrap();
        let day = 86_400_000;
        // 2024-05-01T00:00Z
        let may: i64 = 1_714_521_600_000;
        let mark = |station_id, placed_at, took_ms, items| MarkRow {
            station_id,
            station: format!("S{station_id}"),
            placed_at: may + placed_at,
            took_ms,
            items,
        };
        // Station 1 on day 0: times 1..=20 minutes, one item each.
        let mut marks: Vec<MarkRow> = (1..=20)
            .rev()
            .map(|m| mark(1, 1000, m * 60_000, 1))
            .collect();
        marks.push(mark(1, day + 5, 30_000, 3));
        marks.push(mark(2, 10, 90_000, 2));
        let days = station_days(&utc, marks);
        assert_eq!(days.len(), 3);
        let first = &days[0];
        assert_eq!((first.station_id, first.items), (1, 20));
        assert_eq!(first.day, "2024-05-01");
        assert_eq!(first.median_ms, 10 * 60_000);
        assert_eq!(first.p95_ms, 19 * 60_000);
        // Day by day, stations by name.
        assert_eq!((days[1].station_id, days[1].items), (2, 2));
        assert_eq!(days[2].day, "2024-05-02");
        assert_eq!(
            (days[2].items, days[2].median_ms, days[2].p95_ms),
            (3, 30_000, 30_000)
        );
    }

    #[test]
    fn the_method_chart_scales_bars_to_the_most_taken() {
        let svg = method_chart_svg(
            &[("cash".into(), 1000), ("<card>".into(), 500)],
            "By method",
        );
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("width=\"356\""));
        assert!(svg.contains("width=\"178\""));
        assert!(svg.contains("&lt;card&gt;"));
    }

    #[test]
    fn quarter_hours_fall_into_local_hours() {
        let india = time::parse_rule("IST-5:30").unwrap();
        // 00:00Z is 05:30 in India; 00:15Z 05:45; 00:30Z 06:00.
        let hours = per_local_hour(&india, &[(0, 1), (1, 2), (2, 4)]);
        assert_eq!(hours[5], 3);
        assert_eq!(hours[6], 4);
        assert_eq!(hours.iter().sum::<i64>(), 7);
    }

    /// Two shops' orders over Berlin's spring DST change: cancels (some
    /// recalled), completions (some recalled and completed again), open
    /// orders, payments in three methods, tips and refunds.
    fn generated_orders(conn: &Connection) {
        conn.execute_batch(
            "INSERT INTO users (id, email, name, role, password_hash, created_at)
               VALUES (1, 'k@x', 'K', 'shopkeeper', 'x', 0);
             INSERT INTO shops (id, owner_user_id, name, status, created_at)
               VALUES (1, 1, 'A', 'approved', 0), (2, 1, 'B', 'approved', 0);
             INSERT INTO menu_items (id, shop_id, name, price_cents, created_at, updated_at)
               VALUES (1, 1, 'Tea', 100, 0, 0), (2, 1, 'Cake', 250, 0, 0), (3, 2, 'Dal', 400, 0, 0);
             INSERT INTO option_groups (id, shop_id, name, min_choices, max_choices)
               VALUES (1, 1, 'Size', 0, 1);
             INSERT INTO options (id, group_id, name, price_delta_cents) VALUES (1, 1, 'Large', 50);",
        )
        .unwrap();
        // 2024-03-29T00:00Z, five days around Berlin's 2024-03-31.
        let start: i64 = 1_711_670_400_000;
        let mut seed: i64 = 7;
        let mut next = |n: i64| {
            seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
            (seed >> 16) % n
        };
        let event = |id: i64, from: Option<&str>, to: &str, at: i64| {
            conn.execute(
                "INSERT INTO order_events (order_id, from_status, to_status, actor_role, created_at)
                 VALUES (?1, ?2, ?3, 'shop', ?4)",
                rusqlite::params![id, from, to, at],
            )
            .unwrap();
        };
        for id in 1..=700_i64 {
            let shop = 1 + id % 2;
            let at = start + id * 617_000 + next(60_000);
            let item = if shop == 2 { 3 } else { 1 + next(2) };
            let (name, price) = [("Tea", 100), ("Cake", 250), ("Dal", 400)][item as usize - 1];
            let qty = 1 + next(3);
            let large = next(3) == 0;
            let total = qty * price + if large { 50 } else { 0 };
            let fate = next(8);
            let status = match fate {
                0 => "cancelled",
                1 => "placed",
                2 | 3 => "ready",
                _ => "completed",
            };
            conn.execute(
                "INSERT INTO orders (id, shop_id, client_ref, customer_token_hash, customer_name,
                   status, version, pickup_code, total_cents, created_at, updated_at)
                 VALUES (?1, ?2, ?1, 'h', 'C', ?3, 1, 'A1', ?4, ?5, ?5)",
                rusqlite::params![id, shop, status, total, at],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO order_items (id, order_id, item_id, name, unit_price_cents, qty, line_total_cents)
                 VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![id, item, name, price, qty, total],
            )
            .unwrap();
            if large {
                conn.execute(
                    "INSERT INTO order_line_options (line_id, option_id, group_name, name, price_delta_cents)
                     VALUES (?1, 1, 'Size', 'Large', 50)",
                    [id],
                )
                .unwrap();
            }
            event(id, None, "placed", at);
            let ready = at + 30_000 + next(40 * 60_000);
            match fate {
                0 => {
                    event(id, Some("placed"), "cancelled", at + 1000);
                    if next(3) == 0 {
                        // Recalled, then cancelled again.
                        event(id, Some("cancelled"), "placed", at + 2000);
                        event(id, Some("placed"), "cancelled", at + 3000);
                    }
                }
                1 => {}
                2 => event(id, Some("preparing"), "ready", ready),
                3 => {
                    // Completed, then recalled: open again.
                    event(id, Some("preparing"), "ready", ready);
                    event(id, Some("ready"), "completed", ready + 1000);
                    event(id, Some("completed"), "ready", ready + 2000);
                }
                _ => {
                    event(id, Some("preparing"), "ready", ready);
                    if fate == 4 {
                        event(id, Some("ready"), "completed", ready + 1000);
                        event(id, Some("completed"), "ready", ready + 2000);
                    }
                    event(id, Some("ready"), "completed", ready + 5000);
                }
            }
            if fate != 0 && next(4) != 0 {
                let method = ["cash", "card", "upi"][next(3) as usize];
                conn.execute(
                    "INSERT INTO order_payments (order_id, kind, method, amount_cents, tip_cents, created_at)
                     VALUES (?1, 'payment', ?2, ?3, ?4, ?5)",
                    rusqlite::params![id, method, total, next(2) * 20, ready],
                )
                .unwrap();
                if next(10) == 0 {
                    conn.execute(
                        "INSERT INTO order_payments (order_id, kind, amount_cents, created_at)
                         VALUES (?1, 'refund', ?2, ?3)",
                        rusqlite::params![id, 1 + next(total), ready + 60_000],
                    )
                    .unwrap();
                }
            }
        }
    }

    #[test]
    fn rollups_give_the_figures_of_the_orders_themselves_and_outlive_retention() {
        let conn = crate::db::test_connection();
        generated_orders(&conn);
        let berlin = time::parse_rule("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        let days = [
            "2024-03-29",
            "2024-03-30",
            "2024-03-31",
            "2024-04-01",
            "2024-04-02",
        ];
        let report = |shop, first: &str, last: &str, source| {
            build_from(&conn, &berlin, shop, date(first), date(last), source).unwrap()
        };
        let mut before = Vec::new();
        for shop in [None, Some(1), Some(2)] {
            let mut ranges: Vec<(&str, &str)> = days.iter().map(|d| (*d, *d)).collect();
            ranges.push(("2024-03-28", "2024-04-03"));
            for (first, last) in ranges {
                let rolled = report(shop, first, last, Source::Rollups);
                assert_eq!(
                    rolled,
                    report(shop, first, last, Source::Orders),
                    "{first}..{last}"
                );
                before.push(((shop, first, last), rolled));
            }
        }
        // Something of every kind was counted.
        let week = report(None, "2024-03-28", "2024-04-03", Source::Rollups);
        assert_eq!(week.orders, 700);
        assert!(week.cancelled > 40 && week.completed > 200, "{week:?}");
        assert!(week.refunded_cents > 0 && week.by_method.len() == 3);
        assert!(week.prep_p95_ms.is_some() && week.top_items.len() == 6);
        assert_eq!(
            report(Some(1), "2024-03-31", "2024-03-31", Source::Rollups).per_hour[2],
            0
        );

        // Retention deletes the finished orders before April: the rollups
        // keep their figures, the orders themselves no longer have them.
        let april: i64 = 1_711_922_400_000;
        let deleted = crate::store::orders::delete_finished_before(&conn, april, 10_000).unwrap();
        assert!(deleted > 200);
        for ((shop, first, last), rolled) in before {
            assert_eq!(
                report(shop, first, last, Source::Rollups),
                rolled,
                "{first}..{last}"
            );
        }
        assert!(report(None, "2024-03-30", "2024-03-30", Source::Orders).orders < 100);
    }

    #[test]
    fn the_chart_has_a_bar_per_hour_scaled_to_the_busiest() {
        let mut per_hour = [0; 24];
        per_hour[12] = 10;
        per_hour[13] = 5;
        let svg = hour_chart_svg(&per_hour, "Orders <per> hour");
        assert_eq!(svg.matches("<rect").count(), 24);
        assert!(svg.contains("aria-label=\"Orders &lt;per&gt; hour\""));
        assert!(svg.contains("height=\"120\"><title>12:00 10</title>"));
        assert!(svg.contains("height=\"60\"><title>13:00 5</title>"));
    }
}
