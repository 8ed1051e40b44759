-- A tenant's time zone (an IANA name): dates on its site, and what plugins are told.
ALTER TABLE tenants ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'Europe/Paris';
