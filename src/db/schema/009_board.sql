-- The now-serving board reads every shop's open orders by stage: without
-- this it would scan the whole order history on each answer.
CREATE INDEX orders_status ON orders(status, shop_id);
