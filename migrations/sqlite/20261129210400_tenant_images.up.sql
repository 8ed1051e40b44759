-- A tenant's uploaded images (its logo and its banner), content-addressed: name is the
-- SHA-256 of the bytes and the format's extension, so an image's address never changes
-- meaning and can be cached for good. The tenant row names the ones in use.
CREATE TABLE tenant_images (
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id),
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    data         BLOB NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
--bun:split
-- The images in use ('' for none) and the banner's text for those who cannot see it. An
-- uploaded logo wins over logo_url, the external address of earlier versions, which is kept
-- for the sites that have not uploaded one.
ALTER TABLE tenants ADD COLUMN logo_image TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE tenants ADD COLUMN banner_image TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE tenants ADD COLUMN banner_alt TEXT NOT NULL DEFAULT '';
--bun:split
-- The moderation queue reads each waiting status in creation order (proposal.QueuePage).
CREATE INDEX proposals_waiting ON proposals (tenant_id, status, created_at, id);
