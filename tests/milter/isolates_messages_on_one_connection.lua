-- SPDX-License-Identifier: BSD-2-Clause
-- Several transactions on one connection, aborted ones among them, and
-- two connections whose steps interleave: each completed message is
-- logged with only its own envelope; nothing carries over.
local t = dofile(mtlib)

local function abort(conn, what)
	local err = mt.abort(conn)
	if err ~= nil then
		t.fail("abort %s: %s", what, tostring(err))
	end
end

t.main(function()
	local conn = t.open("192.0.2.10")

	-- S1: authenticated, three recipients, 3 000 body bytes.
	t.message(conn, { qid = "S1", auth = "alice",
		from = "<alice@example.com>",
		rcpts = { "<x@remote.test>", "<y@remote.test>",
			  "<z@example.com>" },
		body = { string.rep("a", 998) .. "\r\n",
			 string.rep("b", 998) .. "\r\n",
			 string.rep("c", 998) .. "\r\n" } })

	-- S2: aborted after its body.
	t.message(conn, { qid = "S2", from = "<spam@remote.test>",
		rcpts = { "<p@example.com>", "<q@example.com>" },
		body = { string.rep("s", 5000) }, stop_after = "body" })
	abort(conn, "S2")

	-- S3: not authenticated (S1's login must not stick), one recipient,
	-- eight body bytes (S1's and S2's must not add up).
	t.message(conn, { qid = "S3", from = "<alice@example.com>",
		rcpts = { "<x@remote.test>" } })

	-- S4: aborted right after its recipients.
	t.message(conn, { qid = "S4", auth = "mallory",
		from = "<m@example.com>",
		rcpts = { "<r1@remote.test>", "<r2@remote.test>" },
		stop_after = "rcpt" })
	abort(conn, "S4")

	-- S5: after the abort, a plain inbound message.
	t.message(conn, { qid = "S5", from = "<b@remote.test>",
		rcpts = { "<a@example.com>" } })
	mt.disconnect(conn)

	-- S6: the client goes away in the middle of the body.
	local gone = t.open("192.0.2.11")
	t.message(gone, { qid = "S6", from = "<g@remote.test>",
		rcpts = { "<a@example.com>" }, stop_after = "body" })
	mt.disconnect(gone, false)

	-- I1/I2: two connections, steps interleaved.
	local a = t.open("192.0.2.21")
	local b = t.open("127.0.0.1")
	mt.macro(a, SMFIC_MAIL, "i", "I1")
	mt.macro(b, SMFIC_MAIL, "i", "I2", "{auth_authen}", "bob")
	t.step("I1 MAIL", a, mt.mailfrom, "<ext@remote.test>")
	t.step("I2 MAIL", b, mt.mailfrom, "<bob@example.com>")
	t.step("I1 RCPT", a, mt.rcptto, "<a1@example.com>")
	t.step("I2 RCPT 1", b, mt.rcptto, "<b1@example.com>")
	t.step("I2 RCPT 2", b, mt.rcptto, "<b2@example.com>")
	t.step("I1 header", a, mt.header, "Subject", "one")
	t.step("I2 header", b, mt.header, "Subject", "two")
	t.step("I2 EOH", b, mt.eoh)
	t.step("I1 EOH", a, mt.eoh)
	t.step("I1 body", a, mt.bodystring, "1234567890\r\n")
	t.step("I2 body", b, mt.bodystring, "12345\r\n")
	t.step("I2 body 2", b, mt.bodystring, "12345\r\n")
	t.step("I2 EOM", b, mt.eom, { SMFIR_CONTINUE, SMFIR_ACCEPT })
	t.assert_unchanged(b, "I2")
	t.step("I1 EOM", a, mt.eom, { SMFIR_CONTINUE, SMFIR_ACCEPT })
	t.assert_unchanged(a, "I1")
	mt.disconnect(a)
	mt.disconnect(b)
end)
