-- SPDX-License-Identifier: BSD-2-Clause
-- One message per client situation; the wrapper checks the log line of
-- each (queue id from the "i" macro). Trusted networks here:
-- 127.0.0.0/8, ::1 and 2001:db8:aa::/48; internal domain example.com.
local t = dofile(mtlib)

local cases = {
	-- SASL login from an untrusted address.
	{ ip = "192.0.2.10", qid = "D1", auth = "alice",
	  from = "<alice@example.com>", rcpts = { "<bob@remote.test>" } },
	-- Internal sender claimed by an untrusted IPv6 client.
	{ ip = "2001:db8:bb::1", qid = "D2",
	  from = "<ceo@example.com>", rcpts = { "<carol@example.com>" } },
	-- Client inside a trusted IPv6 network.
	{ ip = "2001:db8:aa::25", qid = "D3",
	  from = "<dave@example.com>", rcpts = { "<x@remote.test>" } },
	-- Mixed-case domains are internal; all recipients internal.
	{ ip = "2001:db8:aa::25", qid = "D4",
	  from = "<Erin@EXAMPLE.Com>",
	  rcpts = { "<User@Example.COM>", "<Other@example.COM>" } },
	-- Mixed-case internal recipient from outside.
	{ ip = "192.0.2.10", qid = "D5",
	  from = "<Someone@Remote.Test>", rcpts = { "<User@EXAMPLE.Com>" } },
	-- Trusted IPv4 client, every recipient internal.
	{ ip = "127.0.0.1", qid = "D6", from = "<a@example.com>",
	  rcpts = { "<b@example.com>", "<c@example.com>", "<d@example.com>" } },
	-- Nobody internal.
	{ ip = "192.0.2.10", qid = "D7",
	  from = "<x@remote.test>", rcpts = { "<y@other.test>" } },
	-- Trusted internal sender, one recipient inside, one outside.
	{ ip = "127.0.0.1", qid = "D8", from = "<a@example.com>",
	  rcpts = { "<b@example.com>", "<z@remote.test>" } },
	-- Null sender (a bounce) to an internal recipient.
	{ ip = "192.0.2.10", qid = "D9",
	  from = "<>", rcpts = { "<a@example.com>" } },
	-- Locally submitted (no client address).
	{ ip = "unspec", qid = "D10",
	  from = "<a@example.com>", rcpts = { "<x@remote.test>" } },
	-- No queue id macro.
	{ ip = "192.0.2.10", qid = nil,
	  from = "<nq@remote.test>", rcpts = { "<a@example.com>" } },
	-- An empty {auth_authen} is no authentication.
	{ ip = "192.0.2.10", qid = "D12", auth = "",
	  from = "<a@example.com>", rcpts = { "<x@remote.test>" } },
	-- Look-alike domains are not internal.
	{ ip = "127.0.0.1", qid = "D13", from = "<a@mail.example.com>",
	  rcpts = { "<b@example.com.remote.test>", "<c@notexample.com>" } },
	-- An IPv6 client just outside the trusted /48.
	{ ip = "2001:db8:ab::1", qid = "D14",
	  from = "<f@example.com>", rcpts = { "<x@remote.test>" } },
	-- An IPv4-mapped IPv6 address matches the IPv4 network.
	{ ip = "::ffff:127.0.0.1", qid = "D15",
	  from = "<g@example.com>", rcpts = { "<x@remote.test>" } },
	-- ... and not an IPv4 network it is outside of.
	{ ip = "::ffff:192.0.2.10", qid = "D16",
	  from = "<g@example.com>", rcpts = { "<x@remote.test>" } },
}

t.main(function()
	for _, c in ipairs(cases) do
		local conn = t.open(c.ip)
		t.message(conn, c)
		mt.disconnect(conn)
	end
end)
