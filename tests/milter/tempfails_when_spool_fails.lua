-- SPDX-License-Identifier: BSD-2-Clause
-- The spool directory is missing: the chunk that crosses the threshold
-- gets a temporary failure (the MTA keeps the mail and retries), and the
-- connection goes on with the next message.
local t = dofile(mtlib)

t.main(function()
	local c = t.open("192.0.2.10")
	t.message(c, { qid = "F1", from = "<s@remote.test>",
		rcpts = { "<a@example.com>" }, stop_after = "rcpt" })
	t.step("F1 header", c, mt.header, "Subject", "spool failure")
	t.step("F1 end of headers", c, mt.eoh)
	t.step("F1 body under the threshold", c, mt.bodystring,
	       string.rep("x", 3000))
	t.step("F1 body over the threshold", c, mt.bodystring,
	       string.rep("y", 3000), { SMFIR_REPLYCODE, SMFIR_TEMPFAIL })
	-- What an MTA does after a refused transaction.
	local err = mt.abort(c)
	if err ~= nil then
		t.fail("abort: %s", tostring(err))
	end
	t.message(c, { qid = "F2", from = "<s@remote.test>",
		rcpts = { "<a@example.com>" } })
	mt.disconnect(c)
end)
