-- A shop's menu version: bumped by every change a customer's menu shows
-- (items, sold-out switches, the shop's profile and approval), so menu
-- long-polls know when to answer.

ALTER TABLE shops ADD COLUMN menu_version INTEGER NOT NULL DEFAULT 0;
