-- SPDX-License-Identifier: BSD-2-Clause
-- SIGTERM while a message is in flight: new connections and new
-- messages are refused with a temporary failure, the message in flight
-- still completes, then the milter exits (checked by the wrapper).
local t = dofile(mtlib)

t.main(function()
	local c1 = t.open("192.0.2.10")
	t.message(c1, { qid = "T1", from = "<alice@example.com>",
		auth = "alice", rcpts = { "<bob@remote.test>" },
		body = { "first part\r\n" }, stop_after = "body" })
	-- Connected before the signal, no message yet.
	local idle = t.open("192.0.2.30")

	t.signal("TERM")
	t.wait_log("SIGTERM: finishing messages in flight", 1, 10)
	-- The line is logged just before draining starts.
	mt.sleep(0.3)
	if not t.alive() then
		t.fail("smime-milter exited with a message in flight")
	end

	-- A new connection: the reply text, then the miltertest view.
	local out = t.capture("python3 '" .. helper .. "' " ..
			      string.match(sock, "inet:(%d+)@") ..
			      " 192.0.2.40")
	if not string.find(out, "REPLY y 451 4.3.0 smime-milter is shutting down",
			   1, true) then
		t.fail("new connection during the drain: expected 451 4.3.0, "
		       .. "got: %s", out)
	end
	local late = mt.connect(sock, 5, 0.1)
	if late == nil then
		t.fail("the listener is closed during the drain")
	end
	t.step("connect during the drain", late, mt.conninfo, "late.test",
	       "192.0.2.41", { SMFIR_REPLYCODE, SMFIR_TEMPFAIL })
	mt.disconnect(late)

	-- A new message on a connection opened before the signal.
	mt.macro(idle, SMFIC_MAIL, "i", "T2")
	t.step("MAIL during the drain", idle, mt.mailfrom, "<c@remote.test>",
	       { SMFIR_REPLYCODE, SMFIR_TEMPFAIL })
	mt.disconnect(idle)

	-- The message in flight completes normally.
	t.step("T1 rest of the body", c1, mt.bodystring, "second part\r\n")
	t.step("T1 end of message", c1, mt.eom, { SMFIR_CONTINUE, SMFIR_ACCEPT })
	t.assert_unchanged(c1, "T1")
	-- No disconnect: the milter may already be gone.
end)
