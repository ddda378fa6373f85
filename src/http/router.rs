//! The route table: method and path segments to the handler of each area.

use super::identity;
use super::request::{id, Request};
use super::response::Response;
use super::routes::{
    account, admin, assets, board, cart_pages, carts, customer, photos, portal, products, shop,
    tables,
};
use crate::app::App;
use crate::error::{Code, Error, Result};
use hyper::Method;

pub(super) async fn route(app: &App, req: &Request) -> Result<Response> {
    if !matches!(req.method, Method::GET | Method::HEAD) {
        identity::check_origin(req)?;
    }
    let segments: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    match (&req.method, segments.as_slice()) {
        // Captive portal: a redirected browser lands on the welcome page
        (&Method::GET, []) if req.param("url").is_some() => portal::arrival(app, req).await,
        (&Method::GET, ["welcome"]) => portal::landing_page(app, req).await,
        (&Method::POST, ["welcome", "accept"]) => portal::accept_form(app, req).await,
        (&Method::GET, ["captive-portal", "api"]) => Ok(portal::captive_api(app, req)),
        // Customers: pages
        (&Method::GET, []) => account::home_or_setup(app, req).await,
        (&Method::GET, ["shops", shop]) => customer::menu_page(app, req, id(shop)?).await,
        (&Method::GET, ["cart"]) => customer::cart_page(app, req).await,
        (&Method::POST, ["orders"]) => customer::place_form(app, req).await,
        (&Method::GET, ["o", order]) => customer::order_page(app, req, id(order)?).await,
        (&Method::POST, ["o", order, "cancel"]) => {
            customer::cancel_form(app, req, id(order)?).await
        }
        (&Method::GET, ["shops", shop, "items", item]) => {
            customer::item_page(app, req, id(shop)?, id(item)?).await
        }
        (&Method::GET, ["search"]) => customer::search_page(app, req).await,
        // Customers: API
        (&Method::GET, ["api", "shops"]) => customer::api_shops(app).await,
        (&Method::GET, ["api", "shops", shop, "menu"]) => {
            customer::api_menu(app, req, id(shop)?).await
        }
        (&Method::GET, ["api", "search"]) => customer::api_search(app, req).await,
        (&Method::POST, ["api", "orders"]) => customer::api_place(app, req).await,
        (&Method::GET, ["api", "orders", order]) => customer::api_order(app, req, id(order)?).await,
        (&Method::POST, ["api", "orders", order, "cancel"]) => {
            customer::api_cancel(app, req, id(order)?).await
        }
        // Accounts
        (&Method::GET, ["login"]) => account::login_page(app, req).await,
        (&Method::POST, ["login"]) => account::login_form(app, req).await,
        (&Method::POST, ["logout"]) => account::logout_form(app, req).await,
        (&Method::GET, ["register"]) => account::register_page(app, req).await,
        (&Method::POST, ["register"]) => account::register_form(app, req).await,
        (&Method::POST, ["api", "auth", "register"]) => account::api_register(app, req).await,
        (&Method::POST, ["api", "auth", "login"]) => account::api_login(app, req).await,
        (&Method::POST, ["api", "auth", "logout"]) => account::api_logout(app, req).await,
        // Shopkeepers
        (&Method::GET, ["shop"]) => shop::board_page(app, req).await,
        (&Method::POST, ["shop", "orders", order, "status"]) => {
            shop::status_form(app, req, id(order)?).await
        }
        (&Method::POST, ["shop", "profile"]) => shop::profile_form(app, req).await,
        (&Method::GET, ["shop", "menu"]) => shop::menu_page(app, req).await,
        (&Method::POST, ["shop", "items"]) => shop::create_item_form(app, req).await,
        (&Method::POST, ["shop", "items", item]) => {
            shop::update_item_form(app, req, id(item)?).await
        }
        (&Method::POST, ["shop", "items", item, "delete"]) => {
            shop::delete_item_form(app, req, id(item)?).await
        }
        (&Method::GET, ["api", "shop", "orders"]) => shop::api_orders(app, req).await,
        (&Method::POST, ["api", "shop", "orders", order, "status"]) => {
            shop::api_status(app, req, id(order)?).await
        }
        (&Method::GET, ["api", "shop", "items"]) => shop::api_items(app, req).await,
        (&Method::POST, ["api", "shop", "items"]) => shop::api_create_item(app, req).await,
        (&Method::PATCH, ["api", "shop", "items", item]) => {
            shop::api_update_item(app, req, id(item)?).await
        }
        (&Method::DELETE, ["api", "shop", "items", item]) => {
            shop::api_delete_item(app, req, id(item)?).await
        }
        (&Method::POST, ["api", "shop", "items-available"]) => {
            shop::api_bulk_available(app, req).await
        }
        (&Method::GET, ["api", "shop", "categories"]) => shop::api_categories(app, req).await,
        (&Method::POST, ["api", "shop", "categories"]) => shop::api_create_category(app, req).await,
        (&Method::PATCH, ["api", "shop", "categories", c]) => {
            shop::api_update_category(app, req, id(c)?).await
        }
        (&Method::DELETE, ["api", "shop", "categories", c]) => {
            shop::api_delete_category(app, req, id(c)?).await
        }
        (&Method::GET, ["api", "shop", "option-groups"]) => shop::api_groups(app, req).await,
        (&Method::POST, ["api", "shop", "option-groups"]) => shop::api_create_group(app, req).await,
        (&Method::PATCH, ["api", "shop", "option-groups", g]) => {
            shop::api_update_group(app, req, id(g)?).await
        }
        (&Method::DELETE, ["api", "shop", "option-groups", g]) => {
            shop::api_delete_group(app, req, id(g)?).await
        }
        (&Method::GET, ["api", "shop", "ingredients"]) => shop::api_ingredients(app, req).await,
        (&Method::POST, ["api", "shop", "ingredients"]) => {
            shop::api_create_ingredient(app, req).await
        }
        (&Method::PATCH, ["api", "shop", "ingredients", i]) => {
            shop::api_update_ingredient(app, req, id(i)?).await
        }
        (&Method::DELETE, ["api", "shop", "ingredients", i]) => {
            shop::api_delete_ingredient(app, req, id(i)?).await
        }
        (&Method::GET, ["api", "shop", "waste"]) => shop::api_waste_list(app, req).await,
        (&Method::POST, ["api", "shop", "ingredients", i, "waste"]) => {
            shop::api_waste(app, req, id(i)?).await
        }
        (&Method::PUT, ["api", "shop", "items", item, "photo"]) => {
            shop::api_put_photo(app, req, id(item)?).await
        }
        (&Method::DELETE, ["api", "shop", "items", item, "photo"]) => {
            shop::api_delete_photo(app, req, id(item)?).await
        }
        (&Method::GET, ["shop", "items", item]) => shop::item_page(app, req, id(item)?).await,
        (&Method::POST, ["shop", "items", item, "move"]) => {
            shop::move_item_form(app, req, id(item)?).await
        }
        (&Method::POST, ["shop", "items", item, "ingredients"]) => {
            shop::item_ingredients_form(app, req, id(item)?).await
        }
        (&Method::POST, ["shop", "items-available"]) => shop::bulk_available_form(app, req).await,
        (&Method::POST, ["shop", "categories"]) => shop::create_category_form(app, req).await,
        (&Method::POST, ["shop", "categories", c]) => {
            shop::update_category_form(app, req, id(c)?).await
        }
        (&Method::POST, ["shop", "categories", c, "move"]) => {
            shop::move_category_form(app, req, id(c)?).await
        }
        (&Method::POST, ["shop", "categories", c, "delete"]) => {
            shop::delete_category_form(app, req, id(c)?).await
        }
        (&Method::POST, ["shop", "option-groups"]) => shop::create_group_form(app, req).await,
        (&Method::POST, ["shop", "option-groups", g]) => {
            shop::update_group_form(app, req, id(g)?).await
        }
        (&Method::POST, ["shop", "option-groups", g, "delete"]) => {
            shop::delete_group_form(app, req, id(g)?).await
        }
        (&Method::POST, ["shop", "option-groups", g, "options", o]) => {
            shop::option_switch_form(app, req, id(g)?, id(o)?).await
        }
        (&Method::POST, ["shop", "ingredients"]) => shop::create_ingredient_form(app, req).await,
        (&Method::POST, ["shop", "ingredients", i]) => {
            shop::update_ingredient_form(app, req, id(i)?).await
        }
        (&Method::POST, ["shop", "ingredients", i, "delete"]) => {
            shop::delete_ingredient_form(app, req, id(i)?).await
        }
        (&Method::POST, ["shop", "ingredients", i, "waste"]) => {
            shop::waste_form(app, req, id(i)?).await
        }
        (&Method::GET, ["api", "shop", "staff"]) => shop::api_staff(app, req).await,
        (&Method::POST, ["api", "shop", "staff"]) => shop::api_add_staff(app, req).await,
        (&Method::DELETE, ["api", "shop", "staff", user]) => {
            shop::api_remove_staff(app, req, id(user)?).await
        }
        (&Method::GET, ["shop", "staff"]) => shop::staff_page(app, req).await,
        (&Method::POST, ["shop", "staff"]) => shop::add_staff_form(app, req).await,
        (&Method::POST, ["shop", "staff", user, "delete"]) => {
            shop::remove_staff_form(app, req, id(user)?).await
        }
        (&Method::POST, ["api", "shop", "orders", order, "recall"]) => {
            shop::api_recall(app, req, id(order)?).await
        }
        (&Method::POST, ["shop", "orders", order, "recall"]) => {
            shop::recall_form(app, req, id(order)?).await
        }
        (&Method::POST, ["api", "shop", "pause"]) => shop::api_pause(app, req).await,
        (&Method::POST, ["shop", "pause"]) => shop::pause_form(app, req).await,
        (&Method::POST, ["api", "shop", "orders", order, "payment"]) => {
            shop::api_payment(app, req, id(order)?).await
        }
        (&Method::POST, ["shop", "orders", order, "payment"]) => {
            shop::payment_form(app, req, id(order)?).await
        }
        (&Method::POST, ["api", "shop", "orders", order, "refunds"]) => {
            shop::api_refund(app, req, id(order)?).await
        }
        (&Method::GET, ["api", "shop", "payment-methods"]) => {
            shop::api_payment_methods(app, req).await
        }
        (&Method::PUT, ["api", "shop", "payment-methods"]) => {
            shop::api_set_payment_methods(app, req).await
        }
        (&Method::GET, ["api", "shop", "stations"]) => shop::api_stations(app, req).await,
        (&Method::POST, ["api", "shop", "stations"]) => shop::api_create_station(app, req).await,
        (&Method::PUT, ["api", "shop", "stations", "routes"]) => shop::api_route(app, req).await,
        (&Method::PATCH, ["api", "shop", "stations", s]) => {
            shop::api_update_station(app, req, id(s)?).await
        }
        (&Method::DELETE, ["api", "shop", "stations", s]) => {
            shop::api_delete_station(app, req, id(s)?).await
        }
        (&Method::GET, ["api", "shop", "stations", s, "orders"]) => {
            shop::api_station_orders(app, req, id(s)?).await
        }
        (
            &Method::POST,
            ["api", "shop", "orders", order, "stations", s, mark @ ("done" | "undo")],
        ) => shop::api_mark(app, req, id(order)?, id(s)?, *mark == "done").await,
        (&Method::GET, ["shop", "stations", s]) => shop::station_page(app, req, id(s)?).await,
        (&Method::POST, ["shop", "orders", order, "stations", s, mark @ ("done" | "undo")]) => {
            shop::mark_form(app, req, id(order)?, id(s)?, *mark == "done").await
        }
        (&Method::POST, ["shop", "stations"]) => shop::create_station_form(app, req).await,
        (&Method::POST, ["shop", "stations", "route-category"]) => {
            shop::route_category_form(app, req).await
        }
        (&Method::POST, ["shop", "stations", s]) => {
            shop::rename_station_form(app, req, id(s)?).await
        }
        (&Method::POST, ["shop", "stations", s, "delete"]) => {
            shop::delete_station_form(app, req, id(s)?).await
        }
        (&Method::POST, ["shop", "items", item, "station"]) => {
            shop::route_item_form(app, req, id(item)?).await
        }
        // Venue owner
        (&Method::GET, ["admin"]) => admin::page(app, req).await,
        (&Method::POST, ["admin", "shops", shop, action]) => {
            admin::shop_form(app, req, id(shop)?, action).await
        }
        (&Method::POST, ["admin", "venue"]) => admin::venue_form(app, req).await,
        (&Method::GET, ["api", "admin", "shops"]) => admin::api_shops(app, req).await,
        (&Method::GET, ["api", "admin", "venue"]) => admin::api_venue(app, req).await,
        (&Method::PATCH, ["api", "admin", "venue"]) => admin::api_update_venue(app, req).await,
        (&Method::POST, ["api", "admin", "shops", shop, action]) => {
            admin::api_shop(app, req, id(shop)?, action).await
        }
        (&Method::GET, ["setup"]) => account::setup_page(app, req).await,
        (&Method::POST, ["setup"]) => account::setup_form(app, req).await,
        (&Method::GET, ["reports"]) => admin::report_page(app, req).await,
        (&Method::GET, ["reports.csv"]) => admin::report_csv(app, req).await,
        (&Method::GET, ["api", "reports"]) => admin::api_report(app, req).await,
        (&Method::GET, ["admin", "audit"]) => admin::audit_page(app, req).await,
        (&Method::GET, ["api", "admin", "audit"]) => admin::api_audit(app, req).await,
        (&Method::POST, ["admin", "backup"]) => admin::backup_download(app, req).await,
        (&Method::GET, ["photos", name]) => photos::file(app, req, name).await,
        // The now-serving board
        (&Method::GET, ["board"]) => board::page(app, req).await,
        (&Method::GET, ["api", "board"]) => board::api(app, req).await,
        (&Method::GET, ["static", file]) => assets::file(req, file),
        // Tables and QR codes
        (&Method::GET, ["t", code]) => tables::table_page(app, req, code).await,
        (&Method::GET, ["api", "tables", code]) => tables::api_table(app, req, code).await,
        (&Method::GET, ["api", "admin", "tables"]) => tables::api_list(app, req).await,
        (&Method::POST, ["api", "admin", "tables"]) => tables::api_create(app, req).await,
        (&Method::PATCH, ["api", "admin", "tables", t]) => {
            tables::api_update(app, req, id(t)?).await
        }
        (&Method::DELETE, ["api", "admin", "tables", t]) => {
            tables::api_delete(app, req, id(t)?).await
        }
        (&Method::POST, ["api", "admin", "tables", t, "rotate"]) => {
            tables::api_rotate(app, req, id(t)?).await
        }
        (&Method::GET, ["admin", "tables"]) => tables::page(app, req).await,
        (&Method::POST, ["admin", "tables"]) => tables::form(app, req, None, "").await,
        (&Method::POST, ["admin", "tables", t]) => tables::form(app, req, Some(id(t)?), "").await,
        (&Method::POST, ["admin", "tables", t, action @ ("rotate" | "delete")]) => {
            tables::form(app, req, Some(id(t)?), action).await
        }
        (&Method::GET, ["admin", "posters"]) => tables::posters(app, req).await,
        (&Method::GET, ["qr", "table", file]) => tables::qr_svg(app, req, file).await,
        (&Method::GET, ["qr", "item", file]) => products::qr_svg(app, file).await,
        (&Method::GET, ["p", item]) => products::product_page(app, req, id(item)?).await,
        (&Method::GET, ["api", "items", item]) => products::api_item(app, id(item)?).await,
        (&Method::GET, ["shop", "labels"]) => shop::labels_page(app, req).await,
        // Promo codes and promotions
        (&Method::GET, ["api", "shop", "promo-codes"]) => shop::api_promo_codes(app, req).await,
        (&Method::POST, ["api", "shop", "promo-codes"]) => {
            shop::api_create_promo_code(app, req).await
        }
        (&Method::PATCH, ["api", "shop", "promo-codes", p]) => {
            shop::api_update_promo_code(app, req, id(p)?).await
        }
        (&Method::DELETE, ["api", "shop", "promo-codes", p]) => {
            shop::api_delete_promo_code(app, req, id(p)?).await
        }
        (&Method::GET, ["api", "shop", "promotions"]) => shop::api_shop_promotions(app, req).await,
        (&Method::POST, ["api", "shop", "promotions"]) => {
            shop::api_create_promotion(app, req).await
        }
        (&Method::PATCH, ["api", "shop", "promotions", p]) => {
            shop::api_update_promotion(app, req, id(p)?).await
        }
        (&Method::DELETE, ["api", "shop", "promotions", p]) => {
            shop::api_delete_promotion(app, req, id(p)?).await
        }
        (&Method::GET, ["shop", "promos"]) => shop::promos_page(app, req).await,
        (&Method::POST, ["shop", what @ ("promo-codes" | "promotions")]) => {
            shop::promos_form(app, req, what, None).await
        }
        (&Method::POST, ["shop", what @ ("promo-codes" | "promotions"), p, "delete"]) => {
            shop::promos_form(app, req, what, Some(id(p)?)).await
        }
        (&Method::GET, ["api", "promotions"]) => shop::api_promotions(app, req).await,
        (&Method::GET, ["offers"]) => shop::offers_page(app, req).await,
        // Carts across shops and checkout
        (&Method::POST, ["api", "carts"]) => carts::api_create(app, req).await,
        (&Method::GET, ["api", "carts", cart]) => carts::api_get(app, req, id(cart)?).await,
        (&Method::POST, ["api", "carts", cart, "lines"]) => {
            carts::api_add(app, req, id(cart)?).await
        }
        (&Method::PATCH, ["api", "carts", cart, "lines", line]) => {
            carts::api_set_qty(app, req, id(cart)?, id(line)?).await
        }
        (&Method::DELETE, ["api", "carts", cart, "lines", line]) => {
            carts::api_remove(app, req, id(cart)?, id(line)?).await
        }
        (&Method::POST, ["api", "checkouts"]) => carts::api_checkout(app, req).await,
        (&Method::GET, ["api", "checkouts", c]) => carts::api_checkout_get(app, req, id(c)?).await,
        (&Method::GET, ["c", c]) => carts::checkout_page(app, req, id(c)?).await,
        (&Method::PUT, ["api", "shop", "slots"]) => shop::api_set_slots(app, req).await,
        // The cart across shops as pages, and the device's orders
        (&Method::POST, ["cart", "add"]) => cart_pages::add_form(app, req).await,
        (&Method::POST, ["cart", "lines", line]) => {
            cart_pages::line_form(app, req, id(line)?, false).await
        }
        (&Method::POST, ["cart", "lines", line, "remove"]) => {
            cart_pages::line_form(app, req, id(line)?, true).await
        }
        (&Method::POST, ["checkout"]) => cart_pages::checkout_form(app, req).await,
        (&Method::GET, ["orders"]) => cart_pages::history_page(app, req).await,
        (&Method::GET, ["orders", order]) => cart_pages::receipt_page(app, req, id(order)?).await,
        (&Method::POST, ["orders", order, "again"]) => {
            cart_pages::again_form(app, req, id(order)?).await
        }
        _ => Err(Error::not_found(Code::PageNotFound)),
    }
}

/// The long-polls a customer's phone holds open (its order, checkout or
/// cart, a shop's menu): the server reads and answers these itself
/// (`lean`), so one held for a minute keeps no HTTP buffers.
pub(super) fn is_long_poll(method: &Method, segments: &[String]) -> bool {
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    *method == Method::GET
        && matches!(
            segments.as_slice(),
            ["api", "orders" | "checkouts" | "carts", _] | ["api", "shops", _, "menu"]
        )
}

/// `route` for the requests `is_long_poll` picks, with a future sized by
/// these handlers alone rather than the whole table's largest.
pub(super) async fn long_poll(app: &App, req: &Request) -> Result<Response> {
    let segments: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    match (&req.method, segments.as_slice()) {
        (&Method::GET, ["api", "orders", order]) => customer::api_order(app, req, id(order)?).await,
        (&Method::GET, ["api", "checkouts", c]) => carts::api_checkout_get(app, req, id(c)?).await,
        (&Method::GET, ["api", "carts", cart]) => carts::api_get(app, req, id(cart)?).await,
        (&Method::GET, ["api", "shops", shop, "menu"]) => {
            customer::api_menu(app, req, id(shop)?).await
        }
        _ => Box::pin(route(app, req)).await,
    }
}
