-- SPDX-License-Identifier: BSD-2-Clause
-- An authenticated internal sender: recipients whose policy requires
-- encryption are refused at RCPT (550 or 450 as configured), because this
-- build knows no certificate; a subject tag that requires encryption for
-- the remaining recipient rejects the whole message at end of message.
conn = mt.connect("inet:" .. os.getenv("MILTER_PORT") .. "@127.0.0.1")
if conn == nil then error("cannot connect to the milter") end
if mt.conninfo(conn, "client.example", "127.0.0.1") ~= nil then error("conninfo") end
if mt.helo(conn, "client.example") ~= nil then error("helo") end
mt.macro(conn, SMFIC_MAIL, "i", "Q1", "{auth_authen}", "alice")
if mt.mailfrom(conn, "<alice@example.com>") ~= nil then error("mailfrom") end
if mt.rcptto(conn, "<bob@partner.example>") ~= nil then error("rcpt") end
if mt.getreply(conn) ~= SMFIR_REPLYCODE then error("want 550 for partner") end
if mt.rcptto(conn, "<x@slow.example>") ~= nil then error("rcpt") end
if mt.getreply(conn) ~= SMFIR_REPLYCODE then error("want 450") end
if mt.rcptto(conn, "<carol@other.example>") ~= nil then error("rcpt") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("want continue for other") end
if mt.header(conn, "Subject", "[secure] numbers") ~= nil then error("hdr") end
if mt.eom(conn) ~= nil then error("eom") end
if mt.getreply(conn) ~= SMFIR_REPLYCODE then error("want reject at eom: " .. tostring(mt.getreply(conn))) end
mt.disconnect(conn)
