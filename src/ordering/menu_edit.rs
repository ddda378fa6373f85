//! The keeper's menu editor: items, categories, option groups and their
//! options, shared ingredients and their waste. Every edit moves the
//! shop's menu version, so open menus follow within a second.

use super::catalog::{self, menu_changed, CategoryView, MenuItemView};
use super::menu::{self, ALLERGENS, TAGS};
use crate::error::{Code, Error, Result};
use crate::live::{Changes, Data};
use crate::store::categories::{self, CategoryRow};
use crate::store::ingredients::{self, IngredientRow, NewWaste};
use crate::store::items::{self, ItemFields, ItemRow};
use crate::store::options::{self, GroupRow, OptionRow};
use crate::store::shops::{self, ShopStatus};
use crate::support::fields::{Fields, FromFields};
use crate::support::json::json_object;
use crate::support::money::{self, MoneyFormat};
use crate::support::text::{optional_line, optional_text, required};
use rusqlite::Connection;

pub const MAX_ITEMS_PER_SHOP: i64 = 10_000;
/// A shop waiting for approval may build a menu, but whoever registers
/// cannot fill the router's flash before the owner has looked.
pub const MAX_ITEMS_PENDING_SHOP: i64 = 500;
/// All shops' items together.
pub const MAX_ITEMS_PER_VENUE: i64 = 50_000;
pub const MAX_CATEGORIES_PER_SHOP: i64 = 100;
pub const MAX_GROUPS_PER_SHOP: i64 = 200;
pub const MAX_OPTIONS_PER_GROUP: i64 = 30;
pub const MAX_GROUPS_PER_ITEM: usize = 10;
pub const MAX_INGREDIENTS_PER_SHOP: i64 = 300;
pub const MAX_INGREDIENTS_PER_ITEM: usize = 10;
/// Items one bulk sold-out switch may name.
pub const MAX_BULK_ITEMS: usize = 500;
pub const MAX_STOCK: i64 = 1_000_000;
pub const MAX_WASTE_LISTED: i64 = 500;
pub const MAX_PREP_MINUTES: i64 = 240;
const MAX_POSITION: i64 = 100_000;
const MAX_PRICE_DELTA: i64 = money::MAX_PRICE_CENTS;

fn too_many(what: &str, max: impl ToString) -> Error {
    Error::conflict(Code::MenuTooMany)
        .with("what", what)
        .with("max", max)
}

/// A time window as sent: `{"from": "07:00", "until": "11:00"}`.
#[derive(Debug)]
pub struct WindowPatch {
    pub from: String,
    pub until: String,
}

/// How many units of an ingredient one item uses (1 when not sent).
#[derive(Debug)]
pub struct IngredientUse {
    pub ingredient_id: i64,
    pub qty: i64,
}
json_object!(IngredientUse: ingredient_id, qty);

impl FromFields for IngredientUse {
    fn from_fields(f: &Fields) -> Result<IngredientUse> {
        f.done(IngredientUse {
            ingredient_id: f.required_int("ingredient_id"),
            qty: f.int("qty").unwrap_or(1),
        })
    }
}

/// Item fields as sent by the menu editor; missing ones keep their value.
#[derive(Debug, Default)]
pub struct ItemPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    /// A category by name: found (any case) or created.
    pub category: Option<String>,
    pub category_id: Option<Option<i64>>,
    pub price_cents: Option<i64>,
    /// The price as a person types it ("4.50"), when `price_cents` is not given.
    pub price: Option<String>,
    pub available: Option<bool>,
    pub position: Option<i64>,
    pub tags: Option<Vec<String>>,
    pub allergens: Option<Vec<String>>,
    pub prep_minutes: Option<i64>,
    /// Units left; null or empty: not counted.
    pub stock: Option<Option<i64>>,
    pub low_stock: Option<i64>,
    /// `null` removes the window.
    pub window: Option<Option<WindowPatch>>,
    /// The form's way to send a window: both empty removes it.
    pub window_from: Option<String>,
    pub window_until: Option<String>,
    /// The option groups the item offers, in order.
    pub option_groups: Option<Vec<i64>>,
    /// The shared ingredients the item uses.
    pub ingredients: Option<Vec<IngredientUse>>,
}

impl FromFields for ItemPatch {
    fn from_fields(f: &Fields) -> Result<ItemPatch> {
        let window = f.clearable_object("window").map(|window| {
            let w = window?;
            let window = WindowPatch {
                from: w.required_text("from"),
                until: w.required_text("until"),
            };
            f.keep(w.done(window))
        });
        let ingredients = f
            .objects("ingredients")
            .and_then(|uses| f.keep(uses.iter().map(IngredientUse::from_fields).collect()));
        f.done(ItemPatch {
            name: f.text("name"),
            description: f.text("description"),
            category: f.text("category"),
            category_id: f.clearable_int("category_id"),
            price_cents: f.int("price_cents"),
            price: f.text("price"),
            available: f.bool("available"),
            position: f.int("position"),
            tags: f.words("tags"),
            allergens: f.words("allergens"),
            prep_minutes: f.int("prep_minutes"),
            stock: f.clearable_int("stock"),
            low_stock: f.int("low_stock"),
            window,
            window_from: f.text("window_from"),
            window_until: f.text("window_until"),
            option_groups: f.ids("option_groups"),
            ingredients,
        })
    }
}

impl ItemPatch {
    /// Only the sold-out switch or stock counts: what staff at the counter
    /// may change. Anything else is a menu edit.
    pub fn is_stock_only(&self) -> bool {
        let stock = self.available.is_some() || self.stock.is_some() || self.low_stock.is_some();
        let menu = self.name.is_some()
            || self.description.is_some()
            || self.category.is_some()
            || self.category_id.is_some()
            || self.price_cents.is_some()
            || self.price.is_some()
            || self.position.is_some()
            || self.tags.is_some()
            || self.allergens.is_some()
            || self.prep_minutes.is_some()
            || self.window.is_some()
            || self.window_from.is_some()
            || self.window_until.is_some()
            || self.option_groups.is_some()
            || self.ingredients.is_some();
        stock && !menu
    }

    /// Reads a typed `price` in the venue's format into `price_cents`
    /// (which wins when both are sent).
    pub fn with_typed_price(mut self, money: &MoneyFormat) -> Result<ItemPatch> {
        if let (None, Some(price)) = (self.price_cents, self.price.take()) {
            self.price_cents = Some(money.parse_price(&price)?);
        }
        Ok(self)
    }

    fn window(&self) -> Result<Option<Option<(i64, i64)>>> {
        let sent = match (&self.window, &self.window_from, &self.window_until) {
            (Some(window), _, _) => window.as_ref().map(|w| (w.from.as_str(), w.until.as_str())),
            (None, Some(from), Some(until))
                if from.trim().is_empty() && until.trim().is_empty() =>
            {
                None
            }
            (None, Some(from), Some(until)) => Some((from.as_str(), until.as_str())),
            (None, None, None) => return Ok(None),
            (None, _, _) => return Err(Error::bad(Code::MenuBadWindow)),
        };
        sent.map(|(from, until)| {
            menu::check_window(menu::parse_clock(from)?, menu::parse_clock(until)?)
        })
        .transpose()
        .map(Some)
    }

    fn apply(&self, conn: &Connection, shop_id: i64, mut f: ItemFields) -> Result<ItemFields> {
        if let Some(name) = &self.name {
            f.name = required("name", name, 80)?;
        }
        if let Some(description) = &self.description {
            f.description = optional_text("description", description, 500)?;
        }
        if let Some(category) = &self.category {
            f.category_id = category_named(conn, shop_id, category)?;
        }
        if let Some(category_id) = self.category_id {
            if let Some(id) = category_id {
                own_category(conn, shop_id, id)?;
            }
            f.category_id = category_id;
        }
        if let Some(price) = self.price_cents {
            money::check_price(price)?;
            f.price_cents = price;
        }
        if let Some(available) = self.available {
            f.available = available;
        }
        if let Some(position) = self.position {
            f.position = position.clamp(0, MAX_POSITION);
        }
        if let Some(tags) = &self.tags {
            f.tags = menu::bits_of(tags, TAGS, Code::MenuUnknownTag)?;
        }
        if let Some(allergens) = &self.allergens {
            f.allergens = menu::bits_of(allergens, ALLERGENS, Code::MenuUnknownAllergen)?;
        }
        if let Some(minutes) = self.prep_minutes {
            f.prep_minutes = minutes.clamp(0, MAX_PREP_MINUTES);
        }
        if let Some(stock) = self.stock {
            f.stock = stock.map(|s| s.clamp(0, MAX_STOCK));
        }
        if let Some(low) = self.low_stock {
            f.low_stock = low.clamp(0, MAX_STOCK);
        }
        if let Some(window) = self.window()? {
            f.window = window;
        }
        Ok(f)
    }

    /// Option groups and ingredients live in their own tables.
    fn apply_links(&self, conn: &Connection, shop_id: i64, item_id: i64) -> Result<()> {
        if let Some(groups) = &self.option_groups {
            if groups.len() > MAX_GROUPS_PER_ITEM {
                return Err(too_many("option groups per item", MAX_GROUPS_PER_ITEM));
            }
            for id in groups {
                own_group(conn, shop_id, *id)?;
            }
            options::set_item_groups(conn, item_id, groups)?;
        }
        if let Some(uses) = &self.ingredients {
            if uses.len() > MAX_INGREDIENTS_PER_ITEM {
                return Err(too_many("ingredients per item", MAX_INGREDIENTS_PER_ITEM));
            }
            let mut recipe = Vec::with_capacity(uses.len());
            for u in uses {
                own_ingredient(conn, shop_id, u.ingredient_id)?;
                recipe.push((u.ingredient_id, u.qty.clamp(1, 100)));
            }
            ingredients::set_recipe(conn, item_id, &recipe)?;
        }
        Ok(())
    }
}

/// The shop's category of this name, created if it has none; an empty
/// name is no category.
fn category_named(conn: &Connection, shop_id: i64, name: &str) -> Result<Option<i64>> {
    let name = optional_line("category", name, 40)?;
    if name.is_empty() {
        return Ok(None);
    }
    if let Some(id) = categories::by_name(conn, shop_id, &name)? {
        return Ok(Some(id));
    }
    let count = categories::count_for_shop(conn, shop_id)?;
    if count >= MAX_CATEGORIES_PER_SHOP {
        return Err(too_many("categories", MAX_CATEGORIES_PER_SHOP));
    }
    Ok(Some(categories::insert(conn, shop_id, &name, count)?))
}

/// The item if it belongs to `shop_id` (others are "not found").
pub fn own_item(conn: &Connection, shop_id: i64, item_id: i64) -> Result<ItemRow> {
    items::by_id(conn, item_id)?
        .filter(|i| i.shop_id == shop_id)
        .ok_or_else(|| Error::not_found(Code::ItemNotFound))
}

/// The category if it belongs to `shop_id` (others are "not found").
pub fn own_category(conn: &Connection, shop_id: i64, id: i64) -> Result<CategoryRow> {
    categories::by_id(conn, id)?
        .filter(|c| c.shop_id == shop_id)
        .ok_or_else(|| Error::not_found(Code::CategoryNotFound))
}

fn own_group(conn: &Connection, shop_id: i64, id: i64) -> Result<GroupRow> {
    options::group_by_id(conn, id)?
        .filter(|g| g.shop_id == shop_id)
        .ok_or_else(|| Error::not_found(Code::GroupNotFound))
}

fn own_option(conn: &Connection, shop_id: i64, id: i64) -> Result<OptionRow> {
    let option =
        options::option_by_id(conn, id)?.ok_or_else(|| Error::not_found(Code::OptionNotFound))?;
    own_group(conn, shop_id, option.group_id)
        .map_err(|_| Error::not_found(Code::OptionNotFound))?;
    Ok(option)
}

fn own_ingredient(conn: &Connection, shop_id: i64, id: i64) -> Result<IngredientRow> {
    ingredients::by_id(conn, id)?
        .filter(|i| i.shop_id == shop_id)
        .ok_or_else(|| Error::not_found(Code::IngredientNotFound))
}

/// Why a shop at `status` with `shop_items` items may not have one more;
/// the venue's count is read only when the shop's own allow it.
fn item_refusal(
    status: ShopStatus,
    shop_items: i64,
    venue_items: impl FnOnce() -> crate::store::Result<i64>,
) -> crate::store::Result<Option<Error>> {
    let refusal = if status == ShopStatus::Pending && shop_items >= MAX_ITEMS_PENDING_SHOP {
        Error::conflict(Code::ShopPendingTooManyItems).with("max", MAX_ITEMS_PENDING_SHOP)
    } else if shop_items >= MAX_ITEMS_PER_SHOP {
        Error::conflict(Code::ShopTooManyItems).with("max", MAX_ITEMS_PER_SHOP)
    } else if venue_items()? >= MAX_ITEMS_PER_VENUE {
        Error::conflict(Code::VenueTooManyItems).with("max", MAX_ITEMS_PER_VENUE)
    } else {
        return Ok(None);
    };
    Ok(Some(refusal))
}

pub fn create_item(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    patch: ItemPatch,
    now: i64,
) -> Result<i64> {
    if patch.name.is_none() || patch.price_cents.is_none() {
        return Err(Error::bad(Code::ItemNeedsNameAndPrice));
    }
    let status = shops::by_id(conn, shop_id)?
        .ok_or_else(|| Error::not_found(Code::ShopNotFound))?
        .status;
    let shop_items = items::count_for_shop(conn, shop_id)?;
    if let Some(refusal) = item_refusal(status, shop_items, || items::count_in_venue(conn))? {
        return Err(refusal);
    }
    let fields = patch.apply(
        conn,
        shop_id,
        ItemFields {
            available: true,
            prep_minutes: 5,
            ..ItemFields::default()
        },
    )?;
    let id = items::insert(conn, shop_id, &fields, now)?;
    patch.apply_links(conn, shop_id, id)?;
    menu_changed(conn, changes, shop_id)?;
    Ok(id)
}

pub fn update_item(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    item_id: i64,
    patch: ItemPatch,
    now: i64,
) -> Result<()> {
    let item = own_item(conn, shop_id, item_id)?;
    let fields = patch.apply(conn, shop_id, item.fields)?;
    items::update(conn, item_id, &fields, now)?;
    patch.apply_links(conn, shop_id, item_id)?;
    menu_changed(conn, changes, shop_id)
}

pub fn delete_item(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    item_id: i64,
    now: i64,
) -> Result<String> {
    let item = own_item(conn, shop_id, item_id)?;
    items::mark_deleted(conn, item_id, now)?;
    options::set_item_groups(conn, item_id, &[])?;
    ingredients::set_recipe(conn, item_id, &[])?;
    menu_changed(conn, changes, shop_id)?;
    Ok(item.photo)
}

/// Marks many items sold out (or back) at once: the end of the lunch rush.
#[derive(Debug)]
pub struct BulkAvailability {
    pub items: Option<Vec<i64>>,
    pub available: bool,
}

impl FromFields for BulkAvailability {
    fn from_fields(f: &Fields) -> Result<BulkAvailability> {
        f.done(BulkAvailability {
            items: f.ids("items"),
            available: f.required_bool("available"),
        })
    }
}

pub fn set_many_available(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    bulk: &BulkAvailability,
    now: i64,
) -> Result<usize> {
    let ids = bulk.items.as_deref().unwrap_or_default();
    if ids.len() > MAX_BULK_ITEMS {
        return Err(too_many("items in one change", MAX_BULK_ITEMS));
    }
    let changed = items::set_available(conn, shop_id, ids, bulk.available, now)?;
    menu_changed(conn, changes, shop_id)?;
    Ok(changed)
}

/// Swaps `list[at]` with its neighbour above (`up`) or below; nothing
/// moves past either end.
fn swap_with_neighbour<T>(list: &mut [T], at: usize, up: bool) {
    let to = if up { at.checked_sub(1) } else { Some(at + 1) };
    if let Some(to) = to.filter(|&to| to < list.len()) {
        list.swap(at, to);
    }
}

/// Moves an item one place up or down within its category (the editor's
/// arrows). The category's items are numbered afresh, so items that were
/// added with equal positions get a definite order.
pub fn move_item(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    item_id: i64,
    up: bool,
    now: i64,
) -> Result<()> {
    let category = own_item(conn, shop_id, item_id)?.fields.category_id;
    let mut siblings: Vec<ItemRow> = items::for_shop(conn, shop_id)?
        .into_iter()
        .filter(|i| i.fields.category_id == category)
        .collect();
    if let Some(at) = siblings.iter().position(|i| i.id == item_id) {
        swap_with_neighbour(&mut siblings, at, up);
    }
    for (position, mut item) in (0..).zip(siblings) {
        if item.fields.position != position {
            item.fields.position = position;
            items::update(conn, item.id, &item.fields, now)?;
        }
    }
    menu_changed(conn, changes, shop_id)
}

/// The shared ingredients an item uses, for the editor.
pub fn recipe(conn: &Connection, shop_id: i64, item_id: i64) -> Result<Vec<IngredientUse>> {
    own_item(conn, shop_id, item_id)?;
    Ok(ingredients::recipe(conn, item_id)?
        .into_iter()
        .map(|(ingredient_id, qty)| IngredientUse { ingredient_id, qty })
        .collect())
}

// ---- Categories ----

#[derive(Debug, Default)]
pub struct CategoryPatch {
    pub name: Option<String>,
    pub position: Option<i64>,
}

impl FromFields for CategoryPatch {
    fn from_fields(f: &Fields) -> Result<CategoryPatch> {
        f.done(CategoryPatch {
            name: f.text("name"),
            position: f.int("position"),
        })
    }
}

pub fn create_category(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    patch: CategoryPatch,
) -> Result<CategoryView> {
    let name = required("name", patch.name.as_deref().unwrap_or_default(), 40)?;
    let count = categories::count_for_shop(conn, shop_id)?;
    if count >= MAX_CATEGORIES_PER_SHOP {
        return Err(too_many("categories", MAX_CATEGORIES_PER_SHOP));
    }
    let position = patch.position.unwrap_or(count).clamp(0, MAX_POSITION);
    let id = categories::insert(conn, shop_id, &name, position)?;
    menu_changed(conn, changes, shop_id)?;
    Ok(own_category(conn, shop_id, id)?.into())
}

pub fn update_category(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    id: i64,
    patch: CategoryPatch,
) -> Result<CategoryView> {
    let category = own_category(conn, shop_id, id)?;
    let name = match &patch.name {
        Some(name) => required("name", name, 40)?,
        None => category.name,
    };
    let position = patch
        .position
        .map_or(category.position, |p| p.clamp(0, MAX_POSITION));
    categories::update(conn, id, &name, position)?;
    menu_changed(conn, changes, shop_id)?;
    Ok(own_category(conn, shop_id, id)?.into())
}

pub fn delete_category(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    id: i64,
) -> Result<()> {
    own_category(conn, shop_id, id)?;
    categories::delete(conn, id)?;
    menu_changed(conn, changes, shop_id)
}

/// Moves a category one place up or down; all are numbered afresh.
pub fn move_category(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    id: i64,
    up: bool,
) -> Result<()> {
    own_category(conn, shop_id, id)?;
    let mut list = categories::for_shop(conn, shop_id)?;
    if let Some(at) = list.iter().position(|c| c.id == id) {
        swap_with_neighbour(&mut list, at, up);
    }
    for (position, category) in (0..).zip(list) {
        if category.position != position {
            categories::update(conn, category.id, &category.name, position)?;
        }
    }
    menu_changed(conn, changes, shop_id)
}

// ---- Option groups and options ----

#[derive(Debug)]
pub struct OptionPatch {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub price_delta_cents: Option<i64>,
    pub available: Option<bool>,
    pub position: Option<i64>,
}

impl FromFields for OptionPatch {
    fn from_fields(f: &Fields) -> Result<OptionPatch> {
        f.done(OptionPatch {
            id: f.int("id"),
            name: f.text("name"),
            price_delta_cents: f.int("price_delta_cents"),
            available: f.bool("available"),
            position: f.int("position"),
        })
    }
}

#[derive(Debug, Default)]
pub struct GroupPatch {
    pub name: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// The group's options: each with an `id` is changed, each without is
    /// added; with `replace_options`, options not named are removed.
    pub options: Option<Vec<OptionPatch>>,
    pub replace_options: bool,
}

impl FromFields for GroupPatch {
    fn from_fields(f: &Fields) -> Result<GroupPatch> {
        let options = f
            .objects("options")
            .and_then(|options| f.keep(options.iter().map(OptionPatch::from_fields).collect()));
        f.done(GroupPatch {
            name: f.text("name"),
            min: f.int("min"),
            max: f.int("max"),
            options,
            replace_options: f.bool("replace_options").unwrap_or(false),
        })
    }
}

/// An option group with its options, as the editor shows it.
#[derive(Debug)]
pub struct GroupEdit {
    pub id: i64,
    pub name: String,
    pub min: i64,
    pub max: i64,
    pub options: Vec<OptionEdit>,
}
json_object!(GroupEdit: id, name, min, max, options);

#[derive(Debug)]
pub struct OptionEdit {
    pub id: i64,
    pub name: String,
    pub price_delta_cents: i64,
    pub available: bool,
    pub position: i64,
}
json_object!(OptionEdit: id, name, price_delta_cents, available, position);

fn group_edit(conn: &Connection, group: GroupRow) -> Result<GroupEdit> {
    Ok(GroupEdit {
        options: options::options_of_group(conn, group.id)?
            .into_iter()
            .map(|o| OptionEdit {
                id: o.id,
                name: o.name,
                price_delta_cents: o.price_delta_cents,
                available: o.available,
                position: o.position,
            })
            .collect(),
        id: group.id,
        name: group.name,
        min: group.min_choices,
        max: group.max_choices,
    })
}

pub fn groups(conn: &Connection, shop_id: i64) -> Result<Vec<GroupEdit>> {
    let mut groups = Vec::new();
    for group in options::groups_for_shop(conn, shop_id)? {
        groups.push(group_edit(conn, group)?);
    }
    Ok(groups)
}

fn check_choices(min: i64, max: i64) -> Result<()> {
    if !(1..=MAX_OPTIONS_PER_GROUP).contains(&max) || !(0..=max).contains(&min) {
        return Err(Error::bad(Code::MenuBadChoices).with("max", MAX_OPTIONS_PER_GROUP));
    }
    Ok(())
}

fn apply_options(conn: &Connection, shop_id: i64, group_id: i64, patch: &GroupPatch) -> Result<()> {
    let Some(sent) = &patch.options else {
        return Ok(());
    };
    if sent.len() as i64 > MAX_OPTIONS_PER_GROUP {
        return Err(too_many("options per group", MAX_OPTIONS_PER_GROUP));
    }
    if patch.replace_options {
        for old in options::options_of_group(conn, group_id)? {
            if !sent.iter().any(|o| o.id == Some(old.id)) {
                options::delete_option(conn, old.id)?;
            }
        }
    }
    for (n, o) in sent.iter().enumerate() {
        let delta = o.price_delta_cents.unwrap_or(0);
        if delta.abs() > MAX_PRICE_DELTA {
            return Err(Error::bad(Code::PriceOutOfRange));
        }
        match o.id {
            Some(id) => {
                let mut old = own_option(conn, shop_id, id)?;
                if old.group_id != group_id {
                    return Err(Error::not_found(Code::OptionNotFound));
                }
                if let Some(name) = &o.name {
                    old.name = required("name", name, 40)?;
                }
                old.price_delta_cents = o.price_delta_cents.unwrap_or(old.price_delta_cents);
                old.available = o.available.unwrap_or(old.available);
                old.position = o
                    .position
                    .map_or(old.position, |p| p.clamp(0, MAX_POSITION));
                options::update_option(conn, &old)?;
            }
            None => {
                if options::count_options_of_group(conn, group_id)? >= MAX_OPTIONS_PER_GROUP {
                    return Err(too_many("options per group", MAX_OPTIONS_PER_GROUP));
                }
                let name = required("name", o.name.as_deref().unwrap_or_default(), 40)?;
                let position = o.position.unwrap_or(n as i64).clamp(0, MAX_POSITION);
                options::insert_option(
                    conn,
                    group_id,
                    &name,
                    delta,
                    o.available.unwrap_or(true),
                    position,
                )?;
            }
        }
    }
    Ok(())
}

/// Every menu with an item offering the group changes with it.
fn group_changed(conn: &Connection, changes: &mut Changes, shop_id: i64) -> Result<()> {
    menu_changed(conn, changes, shop_id)
}

pub fn create_group(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    patch: GroupPatch,
) -> Result<GroupEdit> {
    let name = required("name", patch.name.as_deref().unwrap_or_default(), 40)?;
    let (min, max) = (patch.min.unwrap_or(0), patch.max.unwrap_or(1));
    check_choices(min, max)?;
    if options::count_groups_for_shop(conn, shop_id)? >= MAX_GROUPS_PER_SHOP {
        return Err(too_many("option groups", MAX_GROUPS_PER_SHOP));
    }
    let id = options::insert_group(conn, shop_id, &name, min, max)?;
    apply_options(conn, shop_id, id, &patch)?;
    group_changed(conn, changes, shop_id)?;
    group_edit(conn, own_group(conn, shop_id, id)?)
}

pub fn update_group(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    id: i64,
    patch: GroupPatch,
) -> Result<GroupEdit> {
    let group = own_group(conn, shop_id, id)?;
    let name = match &patch.name {
        Some(name) => required("name", name, 40)?,
        None => group.name,
    };
    let (min, max) = (
        patch.min.unwrap_or(group.min_choices),
        patch.max.unwrap_or(group.max_choices),
    );
    check_choices(min, max)?;
    options::update_group(conn, id, &name, min, max)?;
    apply_options(conn, shop_id, id, &patch)?;
    group_changed(conn, changes, shop_id)?;
    group_edit(conn, own_group(conn, shop_id, id)?)
}

pub fn delete_group(conn: &Connection, changes: &mut Changes, shop_id: i64, id: i64) -> Result<()> {
    own_group(conn, shop_id, id)?;
    options::delete_group(conn, id)?;
    group_changed(conn, changes, shop_id)
}

// ---- Shared ingredients and waste ----

#[derive(Debug, Default)]
pub struct IngredientPatch {
    pub name: Option<String>,
    pub stock: Option<i64>,
    pub low_stock: Option<i64>,
}

impl FromFields for IngredientPatch {
    fn from_fields(f: &Fields) -> Result<IngredientPatch> {
        f.done(IngredientPatch {
            name: f.text("name"),
            stock: f.int("stock"),
            low_stock: f.int("low_stock"),
        })
    }
}

#[derive(Debug)]
pub struct IngredientView {
    pub id: i64,
    pub name: String,
    pub stock: i64,
    pub low_stock: i64,
    pub running_low: bool,
}
json_object!(IngredientView: id, name, stock, low_stock, running_low);

impl From<IngredientRow> for IngredientView {
    fn from(i: IngredientRow) -> Self {
        IngredientView {
            running_low: i.stock <= i.low_stock,
            id: i.id,
            name: i.name,
            stock: i.stock,
            low_stock: i.low_stock,
        }
    }
}

pub fn ingredient_list(conn: &Connection, shop_id: i64) -> Result<Vec<IngredientView>> {
    Ok(ingredients::for_shop(conn, shop_id)?
        .into_iter()
        .map(Into::into)
        .collect())
}

pub fn create_ingredient(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    patch: IngredientPatch,
) -> Result<IngredientView> {
    let name = required("name", patch.name.as_deref().unwrap_or_default(), 40)?;
    if ingredients::count_for_shop(conn, shop_id)? >= MAX_INGREDIENTS_PER_SHOP {
        return Err(too_many("ingredients", MAX_INGREDIENTS_PER_SHOP));
    }
    let stock = patch.stock.unwrap_or(0).clamp(0, MAX_STOCK);
    let low = patch.low_stock.unwrap_or(0).clamp(0, MAX_STOCK);
    let id = ingredients::insert(conn, shop_id, &name, stock, low)?;
    menu_changed(conn, changes, shop_id)?;
    Ok(own_ingredient(conn, shop_id, id)?.into())
}

/// Also the restock: `stock` is the new count.
pub fn update_ingredient(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    id: i64,
    patch: IngredientPatch,
) -> Result<IngredientView> {
    let mut row = own_ingredient(conn, shop_id, id)?;
    if let Some(name) = &patch.name {
        row.name = required("name", name, 40)?;
    }
    row.stock = patch.stock.map_or(row.stock, |s| s.clamp(0, MAX_STOCK));
    row.low_stock = patch
        .low_stock
        .map_or(row.low_stock, |s| s.clamp(0, MAX_STOCK));
    ingredients::update(conn, &row)?;
    menu_changed(conn, changes, shop_id)?;
    Ok(own_ingredient(conn, shop_id, id)?.into())
}

pub fn delete_ingredient(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    id: i64,
) -> Result<()> {
    own_ingredient(conn, shop_id, id)?;
    ingredients::delete(conn, id)?;
    menu_changed(conn, changes, shop_id)
}

/// Units of an ingredient thrown away, and why ("dropped", "expired").
#[derive(Debug)]
pub struct WasteReport {
    pub qty: i64,
    pub reason: String,
}

impl FromFields for WasteReport {
    fn from_fields(f: &Fields) -> Result<WasteReport> {
        f.done(WasteReport {
            qty: f.required_int("qty"),
            reason: f.required_text("reason"),
        })
    }
}

/// Records waste and takes it off the ingredient's count (never below zero).
pub fn record_waste(
    conn: &Connection,
    changes: &mut Changes,
    shop_id: i64,
    user_id: i64,
    ingredient_id: i64,
    report: WasteReport,
    now: i64,
) -> Result<IngredientView> {
    let mut row = own_ingredient(conn, shop_id, ingredient_id)?;
    let reason = required("reason", &report.reason, 100)?;
    let qty = report.qty.clamp(1, MAX_STOCK);
    ingredients::record_waste(
        conn,
        &NewWaste {
            shop_id,
            ingredient_id,
            qty,
            reason: &reason,
            user_id: Some(user_id),
            now,
        },
    )?;
    row.stock = (row.stock - qty).max(0);
    ingredients::update(conn, &row)?;
    menu_changed(conn, changes, shop_id)?;
    Ok(row.into())
}

/// A shop's recorded waste, newest first.
#[derive(Debug)]
pub struct WasteView {
    pub ingredient_id: i64,
    pub ingredient: String,
    pub qty: i64,
    pub reason: String,
    pub at: i64,
}
json_object!(WasteView: ingredient_id, ingredient, qty, reason, at);

/// Waste recorded in `[from, until)` (UTC ms), at most `MAX_WASTE_LISTED`.
pub fn waste(conn: &Connection, shop_id: i64, from: i64, until: i64) -> Result<Vec<WasteView>> {
    Ok(
        ingredients::waste_between(conn, shop_id, from, until, MAX_WASTE_LISTED)?
            .into_iter()
            .map(|w| WasteView {
                ingredient_id: w.ingredient_id,
                ingredient: w.ingredient,
                qty: w.qty,
                reason: w.reason,
                at: w.created_at,
            })
            .collect(),
    )
}

// ---- Use cases: each edit commits, then wakes the menu's waiters ----

pub async fn add_item(
    data: &Data,
    money: &MoneyFormat,
    minute: i64,
    shop_id: i64,
    patch: ItemPatch,
) -> Result<MenuItemView> {
    let patch = patch.with_typed_price(money)?;
    let now = crate::support::time::now_ms();
    data.write(move |tx, changes| {
        let id = create_item(tx, changes, shop_id, patch, now)?;
        catalog::one_item(tx, shop_id, id, minute)
    })
    .await
}

/// Also the sold-out switch (`available`) and restocking (`stock`).
pub async fn edit_item(
    data: &Data,
    money: &MoneyFormat,
    minute: i64,
    shop_id: i64,
    item_id: i64,
    patch: ItemPatch,
) -> Result<MenuItemView> {
    let patch = patch.with_typed_price(money)?;
    let now = crate::support::time::now_ms();
    data.write(move |tx, changes| {
        update_item(tx, changes, shop_id, item_id, patch, now)?;
        catalog::one_item(tx, shop_id, item_id, minute)
    })
    .await
}

/// Returns the file name of the item's photo, for removal.
pub async fn remove_item(data: &Data, shop_id: i64, item_id: i64) -> Result<String> {
    let now = crate::support::time::now_ms();
    data.write(move |tx, changes| delete_item(tx, changes, shop_id, item_id, now))
        .await
}

/// Runs one editor change in a write transaction.
pub async fn edit<T, F>(data: &Data, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Connection, &mut Changes) -> Result<T> + Send + 'static,
{
    data.write(move |tx, changes| f(tx, changes)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Failure;
    use crate::live::Topic;
    use crate::ordering::testing::{patch, shop};

    fn json<T: FromFields>(text: &str) -> T {
        crate::support::fields::from_json(text).unwrap()
    }

    #[test]
    fn a_pending_shop_and_the_venue_have_item_caps() {
        let code = |status, shop_items, venue_items: i64| {
            item_refusal(status, shop_items, || Ok(venue_items))
                .unwrap()
                .map(|e| e.code())
        };
        let pending = ShopStatus::Pending;
        let approved = ShopStatus::Approved;
        assert_eq!(code(pending, MAX_ITEMS_PENDING_SHOP - 1, 0), None);
        assert_eq!(
            code(pending, MAX_ITEMS_PENDING_SHOP, 0),
            Some("shop.pending_too_many_items")
        );
        assert_eq!(code(approved, MAX_ITEMS_PENDING_SHOP, 0), None);
        assert_eq!(
            code(approved, MAX_ITEMS_PER_SHOP, 0),
            Some("shop.too_many_items")
        );
        assert_eq!(
            code(approved, 10, MAX_ITEMS_PER_VENUE),
            Some("venue.too_many_items")
        );
        assert_eq!(code(approved, 10, MAX_ITEMS_PER_VENUE - 1), None);
    }

    #[test]
    fn items_are_validated_and_scoped_to_their_shop() {
        let conn = crate::db::test_connection();
        let mine = shop(&conn, "a@x.y");
        let theirs = shop(&conn, "b@x.y");
        let changes = &mut Changes::default();
        let item = create_item(&conn, changes, mine, patch("Tea", 250), 0).unwrap();
        assert!(create_item(&conn, changes, mine, patch("Gold", -1), 0).is_err());
        assert!(create_item(&conn, changes, mine, patch("  ", 100), 0).is_err());
        let typed = ItemPatch {
            name: Some("Cake".into()),
            price: Some("3.50".into()),
            ..Default::default()
        }
        .with_typed_price(&MoneyFormat::default())
        .unwrap();
        let cake = create_item(&conn, changes, mine, typed, 0).unwrap();
        assert_eq!(own_item(&conn, mine, cake).unwrap().fields.price_cents, 350);
        let nameless_price = ItemPatch {
            name: Some("Pie".into()),
            ..Default::default()
        };
        assert!(create_item(&conn, changes, mine, nameless_price, 0).is_err());
        let sold_out = ItemPatch {
            available: Some(false),
            ..Default::default()
        };
        update_item(&conn, changes, mine, item, sold_out, 1).unwrap();
        let row = own_item(&conn, mine, item).unwrap();
        assert!(!row.fields.available);
        assert_eq!(row.fields.price_cents, 250);
        assert!(update_item(&conn, changes, theirs, item, ItemPatch::default(), 1).is_err());
        assert!(delete_item(&conn, changes, theirs, item, 1).is_err());
        delete_item(&conn, changes, mine, item, 1).unwrap();
        assert!(own_item(&conn, mine, item).is_err());
    }

    #[test]
    fn the_editor_sets_every_menu_field_and_refuses_foreign_links() {
        let conn = crate::db::test_connection();
        let mine = shop(&conn, "a@x.y");
        let theirs = shop(&conn, "b@x.y");
        let changes = &mut Changes::default();
        let size: GroupEdit = create_group(
            &conn,
            changes,
            mine,
            json(r#"{"name": "Size", "min": 1, "max": 1, "options": [
                {"name": "Small", "price_delta_cents": -50}, {"name": "Large", "price_delta_cents": 70}]}"#),
        )
        .unwrap();
        assert_eq!(size.options.len(), 2);
        let foreign = create_group(&conn, changes, theirs, json(r#"{"name": "Milk"}"#)).unwrap();
        let buns = create_ingredient(
            &conn,
            changes,
            mine,
            json(r#"{"name": "Buns", "stock": 40}"#),
        )
        .unwrap();
        let id = create_item(&conn, changes, mine, patch("Latte", 330), 0).unwrap();
        let edit: ItemPatch = json(&format!(
            r#"{{"category": "Coffee", "tags": ["vegan"], "allergens": ["milk", "soy"],
                "prep_minutes": 4, "stock": 12, "low_stock": 3,
                "window": {{"from": "07:00", "until": "11:00"}},
                "option_groups": [{}], "ingredients": [{{"ingredient_id": {}, "qty": 1}}]}}"#,
            size.id, buns.id
        ));
        update_item(&conn, changes, mine, id, edit, 1).unwrap();
        let menu = catalog::menu(&conn, mine, 8 * 60).unwrap();
        let view = &menu.items[0];
        assert_eq!(menu.categories[0].name, "Coffee");
        assert_eq!(view.category_id, Some(menu.categories[0].id));
        assert_eq!(view.tags, ["vegan"]);
        assert_eq!(view.allergens, ["soy", "milk"]);
        assert_eq!(
            (view.stock, view.low_stock, view.prep_minutes),
            (Some(12), 3, 4)
        );
        assert_eq!(view.window.as_ref().unwrap().from, "07:00");
        assert!(view.available && view.available_from.is_none());
        assert_eq!(view.option_groups[0].name, "Size");
        let late = catalog::menu(&conn, mine, 12 * 60).unwrap();
        assert!(!late.items[0].available && !late.items[0].sold_out);
        assert_eq!(late.items[0].available_from.as_deref(), Some("07:00"));

        let mut bad =
            |text: &str| update_item(&conn, changes, mine, id, json(text), 2).unwrap_err();
        assert!(matches!(
            *bad(&format!(r#"{{"option_groups": [{}]}}"#, foreign.id)),
            Failure::NotFound(_)
        ));
        assert!(matches!(
            *bad(r#"{"tags": ["tasty"]}"#),
            Failure::BadRequest(_)
        ));
        assert!(matches!(
            *bad(r#"{"window": {"from": "7", "until": "11:00"}}"#),
            Failure::BadRequest(_)
        ));
        // Clearing the window and the count.
        update_item(
            &conn,
            changes,
            mine,
            id,
            json(r#"{"window": null, "stock": null}"#),
            3,
        )
        .unwrap();
        let row = own_item(&conn, mine, id).unwrap();
        assert_eq!((row.fields.window, row.fields.stock), (None, None));
        // An ingredient at zero sells the item out.
        update_ingredient(&conn, changes, mine, buns.id, json(r#"{"stock": 0}"#)).unwrap();
        assert!(catalog::menu(&conn, mine, 0).unwrap().items[0].sold_out);
        assert_eq!(
            changes.topics(),
            [Topic::ShopMenu(mine), Topic::ShopMenu(theirs)]
        );
    }

    #[test]
    fn groups_bound_their_choices_and_options() {
        let conn = crate::db::test_connection();
        let mine = shop(&conn, "a@x.y");
        let changes = &mut Changes::default();
        for bad in [
            r#"{"name": "A", "min": 2, "max": 1}"#,
            r#"{"name": "A", "min": 0, "max": 0}"#,
            r#"{"name": "A", "min": -1, "max": 1}"#,
            r#"{"name": "A", "min": 0, "max": 31}"#,
            r#"{"name": "", "min": 0, "max": 1}"#,
        ] {
            assert!(
                create_group(&conn, changes, mine, json(bad)).is_err(),
                "{bad}"
            );
        }
        let many: Vec<String> = (0..31).map(|n| format!(r#"{{"name": "o{n}"}}"#)).collect();
        let text = format!(
            r#"{{"name": "A", "max": 2, "options": [{}]}}"#,
            many.join(",")
        );
        assert!(create_group(&conn, changes, mine, json(&text)).is_err());
        let group = create_group(
            &conn,
            changes,
            mine,
            json(r#"{"name": "Milk", "options": [{"name": "Oat"}, {"name": "Soy"}]}"#),
        )
        .unwrap();
        let oat = group.options[0].id;
        let renamed = update_group(
            &conn,
            changes,
            mine,
            group.id,
            json(&format!(
                r#"{{"options": [{{"id": {oat}, "available": false}}], "replace_options": true}}"#
            )),
        )
        .unwrap();
        assert_eq!(renamed.options.len(), 1);
        assert!(!renamed.options[0].available);
    }

    #[test]
    fn arrows_move_items_within_their_category_and_categories_among_theirs() {
        let conn = crate::db::test_connection();
        let mine = shop(&conn, "a@x.y");
        let theirs = shop(&conn, "b@x.y");
        let changes = &mut Changes::default();
        let in_drinks = |name: &str| ItemPatch {
            category: Some("Drinks".into()),
            ..patch(name, 100)
        };
        // Equal positions: the names decide until an arrow is used.
        let a = create_item(&conn, changes, mine, in_drinks("A"), 0).unwrap();
        let b = create_item(&conn, changes, mine, in_drinks("B"), 0).unwrap();
        let c = create_item(&conn, changes, mine, in_drinks("C"), 0).unwrap();
        let loose = create_item(&conn, changes, mine, patch("Loose", 100), 0).unwrap();
        let order = || -> Vec<i64> {
            catalog::menu(&conn, mine, 0)
                .unwrap()
                .items
                .iter()
                .map(|i| i.id)
                .collect()
        };
        move_item(&conn, changes, mine, c, true, 1).unwrap();
        assert_eq!(order(), [a, c, b, loose]);
        move_item(&conn, changes, mine, a, true, 1).unwrap();
        move_item(&conn, changes, mine, b, false, 1).unwrap();
        assert_eq!(order(), [a, c, b, loose], "nothing moves past an end");
        move_item(&conn, changes, mine, loose, true, 1).unwrap();
        assert_eq!(order(), [a, c, b, loose], "only within its category");
        assert!(move_item(&conn, changes, theirs, a, false, 1).is_err());

        let food = create_category(&conn, changes, mine, json(r#"{"name": "Food"}"#)).unwrap();
        move_category(&conn, changes, mine, food.id, true).unwrap();
        let names: Vec<String> = catalog::menu(&conn, mine, 0)
            .unwrap()
            .categories
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["Food", "Drinks"]);
        assert!(move_category(&conn, changes, theirs, food.id, false).is_err());
    }
}
