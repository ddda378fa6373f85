//! The one error type of the service layer. Every variant says what the
//! client did wrong (or that we failed); `http` maps it to a status once.
//! Errors carry no sentences: a stable code and its parameters, turned into
//! words in the client's language where they leave (`i18n`).

/// A failure, boxed: an `Error` is one word, so a `Result` carrying one is
/// moved in registers, not copied by `memcpy` at every `?` (a `Failure` is
/// five words on the router).
#[derive(Clone, PartialEq, Eq)]
pub struct Error(Box<Failure>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    BadRequest(Problem),
    Unauthorized(Problem),
    Forbidden(Problem),
    NotFound(Problem),
    Conflict(Problem),
    TooLarge,
    /// A body over a limit of its own route, which the problem names.
    TooLargeFor(Problem),
    TooManyRequests,
    /// The shop cannot take another order now (too many open orders).
    ShopTooBusy(Problem),
    /// This device already has as many open orders as the venue allows.
    TooManyOpenOrders(Problem),
    /// The disk holding the database is full: nothing can be saved.
    StorageFull,
    /// Details for the log, never for the client.
    Internal(String),
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Error {
        Error(Box::new(failure))
    }
}

impl std::ops::Deref for Error {
    type Target = Failure;

    fn deref(&self) -> &Failure {
        &self.0
    }
}

/// A result's failure out of its box, for tests to match on:
/// `matches!(r.failure(), Err(Failure::Conflict(_)))`.
#[cfg(test)]
pub trait Failed<T> {
    fn failure(self) -> std::result::Result<T, Failure>;
}

#[cfg(test)]
impl<T> Failed<T> for Result<T> {
    fn failure(self) -> std::result::Result<T, Failure> {
        self.map_err(|e| *e.0)
    }
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, as a code and the values its text names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: Code,
    pub args: Vec<(&'static str, Arg)>,
}

/// A value a message names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Shown as it is (a shop's name, a number).
    Text(String),
    /// Another catalogue entry, shown in the same language (a status, a field).
    Key(String),
    /// An amount in minor units, shown in the venue's money format.
    Money(i64),
}

macro_rules! codes {
    ($($variant:ident = $code:literal,)*) => {
        /// Stable, machine-readable names of failures. Each is also the key
        /// of its message in the catalogues (`catalogue/*.txt`).
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }
        }

        /// A code's debug form is its stable name: the variants' own names
        /// would be a second table of strings in the binary.
        impl std::fmt::Debug for Code {
            fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

codes! {
    Internal = "internal",
    RateLimited = "rate_limited",
    StorageFull = "storage.full",
    Usage = "usage",
    AuthRequired = "auth.required",
    AuthWrongPassword = "auth.wrong_password",
    AuthShopkeepersOnly = "auth.shopkeepers_only",
    AuthOwnerOnly = "auth.owner_only",
    AuthPasswordTooShort = "auth.password_too_short",
    AuthPasswordTooLong = "auth.password_too_long",
    AuthBadEmail = "auth.bad_email",
    AuthEmailTaken = "auth.email_taken",
    FieldRequired = "field.required",
    FieldTooLong = "field.too_long",
    FormExpired = "form.expired",
    RequestTooLarge = "request.too_large",
    RequestCrossSite = "request.cross_site",
    RequestBadJson = "request.bad_json",
    RequestBadForm = "request.bad_form",
    RequestNotWholeNumber = "request.not_whole_number",
    RequestBodySlow = "request.body_slow",
    RequestBodyUnreadable = "request.body_unreadable",
    PageNotFound = "page.not_found",
    ShopNotFound = "shop.not_found",
    ShopClosed = "shop.closed",
    ShopSuspended = "shop.suspended",
    ShopTooBusy = "shop.too_busy",
    ShopTooManyItems = "shop.too_many_items",
    ItemNotFound = "item.not_found",
    ItemSoldOut = "item.sold_out",
    ItemNeedsNameAndPrice = "item.needs_name_and_price",
    ItemOnlyLeft = "item.only_left",
    ItemNotNow = "item.not_now",
    MenuTooMany = "menu.too_many",
    MenuBadTime = "menu.bad_time",
    MenuBadWindow = "menu.bad_window",
    MenuUnknownTag = "menu.unknown_tag",
    MenuUnknownAllergen = "menu.unknown_allergen",
    MenuBadChoices = "menu.bad_choices",
    CategoryNotFound = "category.not_found",
    GroupNotFound = "group.not_found",
    OptionNotFound = "option.not_found",
    IngredientNotFound = "ingredient.not_found",
    PriceInvalid = "price.invalid",
    PriceOutOfRange = "price.out_of_range",
    OrderNotFound = "order.not_found",
    OrderInvalidMove = "order.invalid_move",
    OrderCustomerCancelTooLate = "order.customer_cancel_too_late",
    OrderReasonRequired = "order.reason_required",
    OrderNameRequired = "order.name_required",
    OrderBadClientRef = "order.bad_client_ref",
    OrderClientRefUsed = "order.client_ref_used",
    OrderNoItems = "order.no_items",
    OrderBadLine = "order.bad_line",
    OrderBadQuantity = "order.bad_quantity",
    OrderTooManyLines = "order.too_many_lines",
    OrderUnknownItem = "order.unknown_item",
    OrderUnknownStatus = "order.unknown_status",
    OrderChanged = "order.changed",
    OrderTooManyOpen = "order.too_many_open",
    OrderTooManyOptions = "order.too_many_options",
    OrderOptionTwice = "order.option_twice",
    OrderUnknownOption = "order.unknown_option",
    OrderOptionGone = "order.option_gone",
    OrderOptionSoldOut = "order.option_sold_out",
    OrderOptionCount = "order.option_count",
    OrderPriceChanged = "order.price_changed",
    UserNotFound = "user.not_found",
    MemberNotFound = "member.not_found",
    MemberNotShopkeeper = "member.not_shopkeeper",
    ShopTooManyMembers = "shop.too_many_members",
    ShopNeedsKeeper = "shop.needs_keeper",
    AuthKeeperOnly = "auth.keeper_only",
    ClientNotFound = "client.not_found",
    ClientBadMinutes = "client.bad_minutes",
    VenueNotObject = "venue.not_object",
    VenueInvalid = "venue.invalid",
    VenueNotWholeNumber = "venue.not_whole_number",
    VenueUnknownLanguage = "venue.unknown_language",
    VenueUnknownZone = "venue.unknown_zone",
    VenueBadZoneRule = "venue.bad_zone_rule",
    PhotoTooLarge = "photo.too_large",
    PhotoUnsupported = "photo.unsupported",
    PhotoQuotaFull = "photo.quota_full",
    ReportBadDate = "report.bad_date",
    ReportBadRange = "report.bad_range",
    SetupDone = "setup.done",
    SetupNotHere = "setup.not_here",
    BackupBusy = "backup.busy",
    AuthBadUsername = "auth.bad_username",
    OrderNothingToRecall = "order.nothing_to_recall",
    ShopPaused = "shop.paused",
    ShopBadPause = "shop.bad_pause",
    PaymentMethodNotTaken = "payment.method_not_taken",
    PaymentAboveDue = "payment.above_due",
    PaymentBadAmount = "payment.bad_amount",
    PaymentTooMany = "payment.too_many",
    RefundAbovePaid = "refund.above_paid",
    PaymentOrderCancelled = "payment.order_cancelled",
    TableNotFound = "table.not_found",
    TableTooMany = "table.too_many",
    PromoNotFound = "promo.not_found",
    PromoNotYet = "promo.not_yet",
    PromoExpired = "promo.expired",
    PromoUsedUp = "promo.used_up",
    PromoBelowMinimum = "promo.below_minimum",
    PromoBadValue = "promo.bad_value",
    PromoMalformed = "promo.bad_code",
    PromoBadWindow = "promo.bad_window",
    PromoCodeTaken = "promo.code_taken",
    PromoTooMany = "promo.too_many",
    PromotionNotFound = "promotion.not_found",
    PromotionTooMany = "promotion.too_many",
    StationNotFound = "station.not_found",
    StationNameTaken = "station.name_taken",
    StationOrderNotOpen = "station.order_not_open",
    StationAlreadyDone = "station.already_done",
    StationNotDone = "station.not_done",
    CartNotFound = "cart.not_found",
    CartLineNotFound = "cart.line_not_found",
    CartTooMany = "cart.too_many",
    CartTooManyLines = "cart.too_many_lines",
    CartVenueFull = "cart.venue_full",
    CheckoutNotFound = "checkout.not_found",
    CheckoutRefused = "checkout.refused",
    CheckoutBadSlot = "checkout.bad_slot",
    CheckoutSlotTooSoon = "checkout.slot_too_soon",
    CheckoutSlotClosed = "checkout.slot_closed",
    CheckoutSlotFull = "checkout.slot_full",
    ShopBadSlots = "shop.bad_slots",
    ShopOutsideHours = "shop.outside_hours",
    CheckoutPromoRefused = "checkout.promo_refused",
    CheckoutPromoElsewhere = "checkout.promo_elsewhere",
    VenueTooManyItems = "venue.too_many_items",
    VenueTooManyPendingShops = "venue.too_many_pending_shops",
    ShopPendingTooManyItems = "shop.pending_too_many_items",
}

impl Problem {
    pub fn new(code: Code) -> Problem {
        Problem {
            code,
            args: Vec::new(),
        }
    }
}

/// The problem of a failure that names one, shared or mutable alike: the
/// variants that carry a problem are listed once.
macro_rules! problem_of {
    ($failure:expr) => {
        match $failure {
            Failure::BadRequest(p)
            | Failure::Unauthorized(p)
            | Failure::Forbidden(p)
            | Failure::NotFound(p)
            | Failure::Conflict(p)
            | Failure::TooLargeFor(p)
            | Failure::ShopTooBusy(p)
            | Failure::TooManyOpenOrders(p) => Some(p),
            _ => None,
        }
    };
}

impl Error {
    /// Details for the log, never for the client.
    pub fn internal(detail: String) -> Self {
        Failure::Internal(detail).into()
    }

    pub fn too_busy() -> Self {
        Failure::ShopTooBusy(Problem::new(Code::ShopTooBusy)).into()
    }

    pub fn bad(code: Code) -> Self {
        Failure::BadRequest(Problem::new(code)).into()
    }

    pub fn not_found(code: Code) -> Self {
        Failure::NotFound(Problem::new(code)).into()
    }

    pub fn conflict(code: Code) -> Self {
        Failure::Conflict(Problem::new(code)).into()
    }

    pub fn forbidden(code: Code) -> Self {
        Failure::Forbidden(Problem::new(code)).into()
    }

    pub fn unauthorized(code: Code) -> Self {
        Failure::Unauthorized(Problem::new(code)).into()
    }

    /// Names a value the message shows as it is.
    pub fn with(self, name: &'static str, value: impl ToString) -> Self {
        self.with_arg(name, Arg::Text(value.to_string()))
    }

    /// Names a catalogue entry the message shows in its own language.
    pub fn with_key(self, name: &'static str, key: impl Into<String>) -> Self {
        self.with_arg(name, Arg::Key(key.into()))
    }

    /// Names an amount of money (minor units).
    pub fn with_money(self, name: &'static str, minor_units: i64) -> Self {
        self.with_arg(name, Arg::Money(minor_units))
    }

    fn with_arg(mut self, name: &'static str, arg: Arg) -> Self {
        if let Some(problem) = self.problem_mut() {
            problem.args.push((name, arg));
        }
        self
    }

    fn problem_mut(&mut self) -> Option<&mut Problem> {
        problem_of!(&mut *self.0)
    }

    fn problem_ref(&self) -> Option<&Problem> {
        problem_of!(&*self.0)
    }

    /// What went wrong: the key of its message in the catalogues.
    pub fn kind(&self) -> Code {
        match &*self.0 {
            Failure::TooLarge => Code::RequestTooLarge,
            Failure::TooManyRequests => Code::RateLimited,
            Failure::StorageFull => Code::StorageFull,
            Failure::Internal(_) => Code::Internal,
            _ => self.problem_ref().map_or(Code::Internal, |p| p.code),
        }
    }

    /// The values the message names.
    pub fn args(&self) -> &[(&'static str, Arg)] {
        self.problem_ref().map_or(&[], |p| &p.args)
    }

    /// A stable, machine-readable name for the kind of failure.
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }
}

// `Display` (English, for the log and the command line) is in `i18n`,
// next to the catalogues it reads.
impl std::error::Error for Error {}

impl From<crate::store::StoreError> for Error {
    fn from(e: crate::store::StoreError) -> Self {
        e.into_sqlite().into()
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
            return Failure::StorageFull.into();
        }
        Error::internal(format!("database: {e}"))
    }
}
