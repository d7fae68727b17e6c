-- SPDX-License-Identifier: BSD-2-Clause
-- SIGTERM while a message stays unfinished: after shutdown_timeout (2 s)
-- the milter gives up waiting, says so, and exits.
local t = dofile(mtlib)

t.main(function()
	local conn = t.open("192.0.2.10")
	t.message(conn, { qid = "W1", from = "<s@remote.test>",
		rcpts = { "<a@example.com>" }, stop_after = "body" })
	t.signal("TERM")
	t.wait_log("SIGTERM: finishing messages in flight (up to 2s)", 1, 10)
	t.wait_log("shutdown: messages still in flight after 2s; the MTA "
		   .. "will retry them", 1, 10)
	local deadline = os.time() + 15
	while t.alive() do
		if os.time() > deadline then
			t.fail("smime-milter still running 15 s after giving up")
		end
		mt.sleep(0.1)
	end
end)
