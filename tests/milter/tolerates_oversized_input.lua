-- SPDX-License-Identifier: BSD-2-Clause
-- Hostile sizes do not stop mail: past 10 000 headers, past 1 MB of
-- headers, or past max_message_size (64K here) the message still passes
-- unchanged and the log says what was not kept. The next message on the
-- connection is back to normal. A sender or recipient address the milter
-- cannot use gets a temporary failure, and the connection goes on.
local t = dofile(mtlib)

local function many_headers(n, value)
	local list = {}
	for i = 1, n do
		list[i] = { string.format("X-Flood-%05d", i), value }
	end
	return list
end

t.main(function()
	local conn = t.open("192.0.2.10")
	-- H1: more than 10 000 headers.
	t.message(conn, { qid = "H1", from = "<s@remote.test>",
		rcpts = { "<a@example.com>" },
		headers = many_headers(10050, "v") })
	-- H2: 1 300 headers of 800 bytes, over 1 MB.
	t.message(conn, { qid = "H2", from = "<s@remote.test>",
		rcpts = { "<a@example.com>" },
		headers = many_headers(1300, string.rep("h", 800)) })
	-- B1: a 100 000-byte body.
	local body = {}
	for i = 1, 10 do
		body[i] = string.rep(string.char(96 + i), 9998) .. "\r\n"
	end
	t.message(conn, { qid = "B1", from = "<s@remote.test>",
		rcpts = { "<a@example.com>" }, body = body })
	-- N1: normal again.
	t.message(conn, { qid = "N1", from = "<s@remote.test>",
		rcpts = { "<a@example.com>" } })

	-- E1: a sender with a control character; then N2 on the same
	-- connection.
	mt.macro(conn, SMFIC_MAIL, "i", "E1")
	t.step("E1 MAIL with a control character", conn, mt.mailfrom,
	       "<bad\1sender@remote.test>", { SMFIR_REPLYCODE, SMFIR_TEMPFAIL })
	t.message(conn, { qid = "N2", from = "<s@remote.test>",
		rcpts = { "<a@example.com>" } })

	-- E2: one recipient with a control character is refused for now,
	-- the other one is kept; the message passes with one recipient.
	mt.macro(conn, SMFIC_MAIL, "i", "E2")
	t.step("E2 MAIL", conn, mt.mailfrom, "<s@remote.test>")
	t.step("E2 RCPT with a control character", conn, mt.rcptto,
	       "<bad\1rcpt@example.com>", { SMFIR_REPLYCODE, SMFIR_TEMPFAIL })
	t.step("E2 RCPT", conn, mt.rcptto, "<a@example.com>")
	t.step("E2 header", conn, mt.header, "Subject", "E2")
	t.step("E2 end of headers", conn, mt.eoh)
	t.step("E2 body", conn, mt.bodystring, "Hello.\r\n")
	t.step("E2 end of message", conn, mt.eom,
	       { SMFIR_CONTINUE, SMFIR_ACCEPT })
	t.assert_unchanged(conn, "E2")
	mt.disconnect(conn)
end)
