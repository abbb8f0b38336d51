-- Deterministic seed: every value is arithmetic on generate_series (no random()), so two
-- seeded clusters hold identical rows. Multipliers are primes so ids spread over the tables.
-- Sizes: 10,000 users, 1,000 products, 30,000 orders, 75,000 order items.

INSERT INTO users (id, name, email, created_at)
SELECT g, 'user ' || g, 'user' || g || '@example.test',
       timestamptz '2024-01-01 00:00:00+00' + g * interval '37 minutes'
FROM generate_series(1, 10000) AS g;

INSERT INTO products (id, name, price_cents)
SELECT g, 'product ' || g, 100 + (g * 7919) % 9900
FROM generate_series(1, 1000) AS g;

INSERT INTO orders (id, user_id, status, created_at)
SELECT g, 1 + (g::bigint * 104729) % 10000, (ARRAY['new', 'paid', 'shipped'])[1 + g % 3],
       timestamptz '2024-01-01 00:00:00+00' + g * interval '13 minutes'
FROM generate_series(1, 30000) AS g;
SELECT setval(pg_get_serial_sequence('orders', 'id'), 30000);

-- 1 to 4 items per order; (k * 379) % 1000 differs for k = 1..4, so (order, product) is unique.
INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents)
SELECT o, p.id, 1 + (o + k) % 5, p.price_cents
FROM generate_series(1, 30000) AS o
CROSS JOIN LATERAL generate_series(1, 1 + o % 4) AS k
JOIN products p ON p.id = 1 + (o * 31 + k * 379) % 1000;

UPDATE products p SET units_sold = s.units
FROM (SELECT product_id, sum(quantity) AS units FROM order_items GROUP BY product_id) AS s
WHERE s.product_id = p.id;
