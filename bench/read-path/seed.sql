-- The bench data, inserted straight into Koppel's tables after its migrations ran:
-- 100 suppliers and 2,000 products of one account (psql -v account_id=<uuid>).
-- Every product has a supplier and 2 or 3 tariffs; products 201..2000 are variants whose parent is one
-- of the 200 configurable products 1..200, so 90% of the products have a parent product.
-- Both servers page in primary-key order (Koppel: ORDER BY id; PostGraphile: PRIMARY_KEY_ASC).
\set ON_ERROR_STOP on
begin;

create temporary table bench_supplier_ids on commit drop as
    select i, gen_random_uuid() as id from generate_series(1, 100) as i;
create temporary table bench_product_ids on commit drop as
    select i, gen_random_uuid() as id from generate_series(1, 2000) as i;

insert into suppliers (id, account_id, name, contractant, contact_name, email, phone, website, logo_url,
                       created_at, updated_at)
select s.id, :'account_id', format('Supplier %s', lpad(s.i::text, 3, '0')), s.i % 2 = 0,
       format('Contact %s', s.i), format('supplier%s@example.com', s.i), null, null, null, now(), now()
from bench_supplier_ids s;

insert into products (id, account_id, supplier_id, parent_id, sku, name, description, product_type, category,
                      tariffs, extra_fields, incentive, active, authorised, created_at, updated_at)
select p.id, :'account_id',
       (select s.id from bench_supplier_ids s where s.i = 1 + (p.i - 1) % 100),
       case when p.i > 200 then (select q.id from bench_product_ids q where q.i = 1 + (p.i - 1) % 200) end,
       format('SKU-%s', lpad(p.i::text, 4, '0')),
       format('Product %s', lpad(p.i::text, 4, '0')),
       format('Energy contract number %s, for the benchmark.', p.i),
       case when p.i <= 200 then 'configurable' else 'variant' end,
       case when p.i % 2 = 0 then 'electricity' else 'gas' end,
       jsonb_build_array(
           jsonb_build_object('code', 'delivery', 'label', 'Delivery', 'amount',
                              (0.2 + p.i / 100000.0)::numeric(8, 5)::text, 'unit', 'EUR/kWh'),
           jsonb_build_object('code', 'standing', 'label', 'Standing charge', 'amount',
                              (5 + p.i % 7)::numeric(6, 2)::text, 'unit', 'EUR/month'))
       || case when p.i % 2 = 0
               then jsonb_build_array(jsonb_build_object('code', 'grid', 'label', 'Grid fee', 'amount', '0.03900',
                                                         'unit', 'EUR/kWh'))
               else '[]'::jsonb end,
       '{}'::jsonb, null, true, true, now(), now()
from bench_product_ids p;

commit;
analyze;
