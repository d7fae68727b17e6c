-- SPDX-License-Identifier: BSD-2-Clause
-- SIGHUP reloads the configuration: a good file applies from the next
-- message (also on a connection opened before), a broken one is refused
-- and the running configuration stays, and a message already started
-- keeps the configuration it started with.
--
-- -D conf (the file the milter reads), conf_b, conf_bad1, conf_bad2,
-- conf_c: see reloads_on_sighup.sh.
local t = dofile(mtlib)

local loaded = "reload: configuration " .. conf .. " loaded"
local refused = "reload: " .. conf ..
		" has errors; keeping the running configuration"

local function install(file, needle, n)
	t.sh(string.format("cp -f '%s' '%s'", file, conf))
	t.signal("HUP")
	t.wait_log(needle, n, 10)
	if not t.alive() then
		t.fail("smime-milter died after SIGHUP with %s", file)
	end
end

local big = { string.rep("b", 998) .. "\r\n", string.rep("c", 3998) ..
	      "\r\n" }

local function msg(conn, qid, rcpt, body)
	t.message(conn, { qid = qid, from = "<x@remote.test>",
		rcpts = { rcpt }, body = body })
end

t.main(function()
	local conn = t.open("192.0.2.10")
	-- A: example.com only, log level info, default threshold.
	msg(conn, "R1", "<u@example.org>", big)
	t.expect_log("spooled", 0)

	-- B: example.org becomes internal; debug; threshold 4K.
	install(conf_b, loaded, 1)
	msg(conn, "R2", "<u@example.org>", big)
	t.expect_log("spooled", 1)
	local conn2 = t.open("192.0.2.20")
	msg(conn2, "R3", "<u@example.org>")

	-- Broken files: B stays, debug logging included.
	install(conf_bad1, refused, 1)
	install(conf_bad2, refused, 2)
	msg(conn, "R4", "<u@example.org>", big)
	t.expect_log("spooled", 2)

	-- C: example.net instead of example.org; back to info.
	install(conf_c, loaded, 2)
	msg(conn2, "R5", "<u@example.org>", big)
	t.expect_log("spooled", 2)

	-- R6 starts under C, a reload to B happens in its middle.
	t.message(conn, { qid = "R6", from = "<x@remote.test>",
		rcpts = { "<v@example.net>" }, stop_after = "rcpt" })
	install(conf_b, loaded, 3)
	t.step("R6 header", conn, mt.header, "Subject", "across a reload")
	t.step("R6 end of headers", conn, mt.eoh)
	t.step("R6 body", conn, mt.bodystring, "Hello.\r\n")
	t.step("R6 end of message", conn, mt.eom,
	       { SMFIR_CONTINUE, SMFIR_ACCEPT })
	t.assert_unchanged(conn, "R6")

	-- R7: B applies now.
	msg(conn, "R7", "<v@example.net>")
	mt.disconnect(conn)
	mt.disconnect(conn2)
end)
