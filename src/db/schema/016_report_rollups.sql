-- Report rollups: per shop and quarter hour (UTC ms / 900,000) of the
-- orders' placement, so a month's report reads a few thousand rows, not
-- every order. Every zone's offset and change is a whole number of
-- quarter hours, so each local day is a whole number of them.
--
-- An order counts here once it is finished (completed or cancelled) and
-- stops counting if a recall reopens it; open orders are read directly.
-- Payments and refunds count when taken, whatever the order's state.
-- Retention deleting orders leaves their rollups: past reports keep
-- their figures.

CREATE TABLE report_quarters (
    shop_id        INTEGER NOT NULL,
    quarter        INTEGER NOT NULL,
    completed      INTEGER NOT NULL DEFAULT 0,
    cancelled      INTEGER NOT NULL DEFAULT 0,
    -- Totals of the completed orders.
    revenue_cents  INTEGER NOT NULL DEFAULT 0,
    refunded_cents INTEGER NOT NULL DEFAULT 0,
    -- Finished orders that got ready, and their placed → ready sum.
    prep_orders    INTEGER NOT NULL DEFAULT 0,
    prep_ms        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, quarter)
) WITHOUT ROWID;

-- Placed → ready in whole minutes (1440 and more counted as 1440).
CREATE TABLE report_prep (
    shop_id INTEGER NOT NULL,
    quarter INTEGER NOT NULL,
    minute  INTEGER NOT NULL,
    orders  INTEGER NOT NULL,
    PRIMARY KEY (shop_id, quarter, minute)
) WITHOUT ROWID;

CREATE TABLE report_methods (
    shop_id      INTEGER NOT NULL,
    quarter      INTEGER NOT NULL,
    method       TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    tip_cents    INTEGER NOT NULL,
    payments     INTEGER NOT NULL,
    PRIMARY KEY (shop_id, quarter, method)
) WITHOUT ROWID;

-- Lines of completed orders by item name and options ("Group: Option"
-- joined by ", " in a fixed order, as the report shows them).
CREATE TABLE report_items (
    shop_id       INTEGER NOT NULL,
    quarter       INTEGER NOT NULL,
    name          TEXT NOT NULL,
    options       TEXT NOT NULL,
    qty           INTEGER NOT NULL,
    revenue_cents INTEGER NOT NULL,
    PRIMARY KEY (shop_id, quarter, name, options)
) WITHOUT ROWID;

-- An event finishing an order adds it; one leaving a finished state (a
-- recall) takes it back out, with the same figures: its ready time is
-- the first ready event before this one.
CREATE TRIGGER report_order_finished AFTER INSERT ON order_events
WHEN new.to_status IN ('completed', 'cancelled') OR new.from_status IN ('completed', 'cancelled')
BEGIN
    INSERT INTO report_quarters (shop_id, quarter, completed, cancelled, revenue_cents,
                                 prep_orders, prep_ms)
    SELECT shop_id, quarter, sign * (kind = 'completed'), sign * (kind = 'cancelled'),
           sign * (kind = 'completed') * total_cents, sign * (took IS NOT NULL),
           sign * coalesce(took, 0)
    FROM (SELECT o.shop_id, o.created_at / 900000 AS quarter, o.total_cents,
                 (SELECT min(e.created_at) FROM order_events e WHERE e.order_id = o.id
                    AND e.to_status = 'ready' AND e.id < new.id) - o.created_at AS took,
                 CASE WHEN new.to_status IN ('completed', 'cancelled') THEN 1 ELSE -1 END AS sign,
                 CASE WHEN new.to_status IN ('completed', 'cancelled') THEN new.to_status
                      ELSE new.from_status END AS kind
          FROM orders o WHERE o.id = new.order_id)
    WHERE true
    ON CONFLICT (shop_id, quarter) DO UPDATE SET
        completed = completed + excluded.completed,
        cancelled = cancelled + excluded.cancelled,
        revenue_cents = revenue_cents + excluded.revenue_cents,
        prep_orders = prep_orders + excluded.prep_orders,
        prep_ms = prep_ms + excluded.prep_ms;

    INSERT INTO report_prep (shop_id, quarter, minute, orders)
    SELECT shop_id, quarter, min(max(took, 0) / 60000, 1440),
           CASE WHEN new.to_status IN ('completed', 'cancelled') THEN 1 ELSE -1 END
    FROM (SELECT o.shop_id, o.created_at / 900000 AS quarter,
                 (SELECT min(e.created_at) FROM order_events e WHERE e.order_id = o.id
                    AND e.to_status = 'ready' AND e.id < new.id) - o.created_at AS took
          FROM orders o WHERE o.id = new.order_id)
    WHERE took IS NOT NULL
    ON CONFLICT (shop_id, quarter, minute) DO UPDATE SET orders = orders + excluded.orders;

    INSERT INTO report_items (shop_id, quarter, name, options, qty, revenue_cents)
    SELECT o.shop_id, o.created_at / 900000, oi.name,
           coalesce((SELECT group_concat(x.label, ', ') FROM
               (SELECT group_name || ': ' || name AS label FROM order_line_options
                WHERE line_id = oi.id ORDER BY group_name, name) x), '') AS opts,
           sum(oi.qty) * (CASE WHEN new.to_status = 'completed' THEN 1 ELSE -1 END),
           sum(oi.line_total_cents) * (CASE WHEN new.to_status = 'completed' THEN 1 ELSE -1 END)
    FROM orders o JOIN order_items oi ON oi.order_id = o.id
    WHERE o.id = new.order_id
      AND (new.to_status = 'completed' OR new.from_status = 'completed')
    GROUP BY oi.name, opts
    ON CONFLICT (shop_id, quarter, name, options) DO UPDATE SET
        qty = qty + excluded.qty,
        revenue_cents = revenue_cents + excluded.revenue_cents;
END;

CREATE TRIGGER report_payment_taken AFTER INSERT ON order_payments
BEGIN
    INSERT INTO report_methods (shop_id, quarter, method, amount_cents, tip_cents, payments)
    SELECT o.shop_id, o.created_at / 900000, new.method, new.amount_cents, new.tip_cents, 1
    FROM orders o WHERE o.id = new.order_id AND new.kind = 'payment'
    ON CONFLICT (shop_id, quarter, method) DO UPDATE SET
        amount_cents = amount_cents + excluded.amount_cents,
        tip_cents = tip_cents + excluded.tip_cents,
        payments = payments + 1;

    INSERT INTO report_quarters (shop_id, quarter, refunded_cents)
    SELECT o.shop_id, o.created_at / 900000, new.amount_cents
    FROM orders o WHERE o.id = new.order_id AND new.kind = 'refund'
    ON CONFLICT (shop_id, quarter) DO UPDATE SET
        refunded_cents = refunded_cents + excluded.refunded_cents;
END;

-- The history so far.
INSERT INTO report_quarters (shop_id, quarter, completed, cancelled, revenue_cents,
                             prep_orders, prep_ms)
SELECT shop_id, quarter, sum(status = 'completed'), sum(status = 'cancelled'),
       sum(CASE WHEN status = 'completed' THEN total_cents ELSE 0 END),
       count(took), coalesce(sum(took), 0)
FROM (SELECT o.shop_id, o.created_at / 900000 AS quarter, o.status, o.total_cents,
             (SELECT min(e.created_at) FROM order_events e WHERE e.order_id = o.id
                AND e.to_status = 'ready') - o.created_at AS took
      FROM orders o WHERE o.status IN ('completed', 'cancelled'))
GROUP BY shop_id, quarter;

INSERT INTO report_prep (shop_id, quarter, minute, orders)
SELECT shop_id, quarter, min(max(took, 0) / 60000, 1440) AS minute, count(*)
FROM (SELECT o.shop_id, o.created_at / 900000 AS quarter,
             (SELECT min(e.created_at) FROM order_events e WHERE e.order_id = o.id
                AND e.to_status = 'ready') - o.created_at AS took
      FROM orders o WHERE o.status IN ('completed', 'cancelled'))
WHERE took IS NOT NULL
GROUP BY shop_id, quarter, minute;

INSERT INTO report_items (shop_id, quarter, name, options, qty, revenue_cents)
SELECT o.shop_id, o.created_at / 900000 AS quarter, oi.name,
       coalesce((SELECT group_concat(x.label, ', ') FROM
           (SELECT group_name || ': ' || name AS label FROM order_line_options
            WHERE line_id = oi.id ORDER BY group_name, name) x), '') AS opts,
       sum(oi.qty), sum(oi.line_total_cents)
FROM orders o JOIN order_items oi ON oi.order_id = o.id
WHERE o.status = 'completed'
GROUP BY o.shop_id, quarter, oi.name, opts;

INSERT INTO report_methods (shop_id, quarter, method, amount_cents, tip_cents, payments)
SELECT o.shop_id, o.created_at / 900000 AS quarter, p.method, sum(p.amount_cents),
       sum(p.tip_cents), count(*)
FROM orders o JOIN order_payments p ON p.order_id = o.id
WHERE p.kind = 'payment'
GROUP BY o.shop_id, quarter, p.method;

INSERT INTO report_quarters (shop_id, quarter, refunded_cents)
SELECT o.shop_id, o.created_at / 900000 AS quarter, sum(p.amount_cents)
FROM orders o JOIN order_payments p ON p.order_id = o.id
WHERE p.kind = 'refund'
GROUP BY o.shop_id, quarter
ON CONFLICT (shop_id, quarter) DO UPDATE SET refunded_cents = excluded.refunded_cents;
