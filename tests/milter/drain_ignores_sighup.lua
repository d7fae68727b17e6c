-- SPDX-License-Identifier: BSD-2-Clause
-- A SIGHUP during the drain must not cut off the message in flight.
local t = dofile(mtlib)

t.main(function()
	mt.set_timeout(5)
	local c1 = t.open("192.0.2.10")
	t.message(c1, { qid = "G1", from = "<s@remote.test>",
		rcpts = { "<a@example.com>" }, stop_after = "body" })
	t.signal("TERM")
	t.wait_log("SIGTERM: finishing messages in flight", 1, 10)
	mt.sleep(0.3)
	t.signal("HUP")
	mt.sleep(1)
	if not t.alive() then
		t.fail("smime-milter exited on SIGHUP during the drain")
	end
	t.step("G1 body after SIGHUP", c1, mt.bodystring, "more\r\n")
	t.step("G1 end of message", c1, mt.eom, { SMFIR_CONTINUE, SMFIR_ACCEPT })
	t.assert_unchanged(c1, "G1")
end)
