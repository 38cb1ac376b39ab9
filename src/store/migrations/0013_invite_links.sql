-- Invitations an administrator can list, copy again and revoke. `link_nonce` is random;
-- the link's token is derived from it with the server's key (beside the database, not in
-- it), so the table alone still gives no usable link. Invitations made before this have
-- no nonce: their link was shown once, when made.
ALTER TABLE invites ADD COLUMN link_nonce BLOB;
ALTER TABLE invites ADD COLUMN revoked_at INTEGER;
