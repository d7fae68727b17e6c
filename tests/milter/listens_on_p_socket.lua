-- SPDX-License-Identifier: BSD-2-Clause
-- A message through the unix socket given with -p.
local t = dofile(mtlib)

t.main(function()
	local conn = t.open("192.0.2.10", nil, usock)
	t.message(conn, { qid = "U1", from = "<s@remote.test>",
		rcpts = { "<a@example.com>" } })
	mt.disconnect(conn)
end)
