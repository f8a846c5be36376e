"""Django's PostgreSQL backend, its pooled connections checked without a round trip
(florasite.lib.db_pool). ENGINE = "florasite.lib.postgresql" (florasite.settings)."""
