-- SPDX-License-Identifier: BSD-2-Clause
-- A message with several headers (one folded) and a body in several
-- chunks passes: every step is answered CONTINUE, end of message is
-- CONTINUE or ACCEPT, and no header, body or reply change is asked for.
local t = dofile(mtlib)

t.main(function()
	local conn = t.open("192.0.2.10", "mail.sender.test")
	local body = {
		"First line of the body.\r\n",
		"Second chunk: " .. string.rep("x", 900) .. "\r\n",
		"\r\n",
		"-- \r\nA signature with trailing space \r\n",
		".\r\n..a line that starts with a dot\r\n",
	}
	local size = t.message(conn, {
		qid = "PASS1",
		from = "<sender@remote.test>",
		rcpts = { "<alice@example.com>" },
		headers = {
			{ "From", "Sender <sender@remote.test>" },
			{ "To", "Alice <alice@example.com>" },
			{ "Subject", "folded\r\n\tsubject line" },
			{ "Date", "Tue, 01 Apr 2025 10:00:00 +0000" },
			{ "Message-ID", "<pass1@remote.test>" },
			{ "MIME-Version", "1.0" },
			{ "Content-Type", "text/plain; charset=utf-8" },
		},
		body = body,
	})
	if size ~= tonumber(expect_size) then
		t.fail("sent %d body bytes, the wrapper expects %s", size,
		       expect_size)
	end
	mt.disconnect(conn)
end)
