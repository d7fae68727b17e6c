-- SPDX-License-Identifier: BSD-2-Clause
-- After a burst of SIGHUPs (sent by the wrapper) the milter still
-- answers and passes mail.
local t = dofile(mtlib)

t.main(function()
	mt.set_timeout(5)
	local conn = t.open("192.0.2.10")
	t.message(conn, { qid = "H1", from = "<s@remote.test>",
		rcpts = { "<a@example.com>" } })
	mt.disconnect(conn)
end)
