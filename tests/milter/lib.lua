-- SPDX-License-Identifier: BSD-2-Clause
-- Helpers for the miltertest scripts in this directory. A script loads
-- them with  local t = dofile(mtlib)  and puts its steps in t.main(fn).
--
-- Globals passed by tests/lib/milter.sh (miltertest -D name=value):
--   mtlib  this file        sock  the milter socket (inet:PORT@127.0.0.1)
--   log    the milter log   pid   the milter process id
-- Scripts may get more (-D) from their wrapper.
--
-- miltertest does not print the message of a failed script, so every
-- failure goes through t.fail, which prints "FAIL: ..." on stderr and
-- exits 1.

local t = {}

local reply_names = {}
for _, n in ipairs({ "CONTINUE", "ACCEPT", "REJECT", "TEMPFAIL", "DISCARD",
		     "REPLYCODE", "SKIP" }) do
	local v = _G["SMFIR_" .. n]
	if v ~= nil then
		reply_names[v] = "SMFIR_" .. n
	end
end

function t.reply_name(r)
	if r == nil then
		return "nil"
	end
	if reply_names[r] ~= nil then
		return reply_names[r]
	end
	local ok, ch = pcall(string.char, math.floor(r))
	return string.format("%s ('%s')", tostring(r), ok and ch or "?")
end

function t.fail(fmt, ...)
	local msg = string.format(fmt, ...)
	io.stderr:write("FAIL: " .. msg .. "\n")
	io.stderr:flush()
	os.exit(1)
end

-- Runs the test body; any Lua error (including one raised inside an
-- mt.* function) becomes a readable failure.
function t.main(fn)
	local ok, err = xpcall(fn, debug.traceback)
	if not ok then
		t.fail("script error: %s", tostring(err))
	end
	io.stdout:write("lua: all steps passed\n")
end

-- Calls an mt.* step and checks that the milter answered one of the
-- expected replies (SMFIR_CONTINUE when none is given).
function t.step(what, conn, fn, ...)
	local args = { ... }
	local expected = { SMFIR_CONTINUE }
	if type(args[#args]) == "table" then
		expected = table.remove(args)
	end
	local err = fn(conn, table.unpack(args))
	if err ~= nil then
		t.fail("%s: miltertest error: %s", what, tostring(err))
	end
	local r = mt.getreply(conn)
	for _, e in ipairs(expected) do
		if r == e then
			return r
		end
	end
	local names = {}
	for _, e in ipairs(expected) do
		names[#names + 1] = t.reply_name(e)
	end
	t.fail("%s: milter replied %s, expected %s", what, t.reply_name(r),
	       table.concat(names, " or "))
end

-- The protocol steps an MTA offers by default (libmilter's
-- SMFI_CURR_PROT, miltertest's own default) but SMFIP_SKIP: the milter
-- would skip the body of inbound text at its first chunk, and these
-- scripts test what it does with a body it reads whole. The skip has its
-- own test (tests/lib/milter_session.py skip).
t.STEPS_NO_SKIP = 0x1FFFFF - SMFIP_SKIP

-- Opens a connection: negotiation (offering steps, default
-- t.STEPS_NO_SKIP), connect information from ip (a string, or "unspec"
-- for a local client) and HELO. The HELO is sent explicitly because
-- miltertest would otherwise send it implicitly at MAIL time, after (and
-- erasing) the MAIL macros.
function t.open(ip, host, sockspec, steps)
	local conn = mt.connect(sockspec or sock, 50, 0.1)
	if conn == nil then
		t.fail("cannot connect to the milter at %s", sockspec or sock)
	end
	-- miltertest takes the steps before the actions, unlike its manual
	local err = mt.negotiate(conn, nil, steps or t.STEPS_NO_SKIP, nil)
	if err ~= nil then
		t.fail("negotiation: %s", tostring(err))
	end
	if steps == nil and mt.test_option(conn, SMFIP_SKIP) then
		t.fail("the milter asked for SMFIP_SKIP, which was not offered")
	end
	t.step("connect from " .. ip, conn, mt.conninfo, host or "client.test",
	       ip)
	t.step("HELO", conn, mt.helo, host or "client.test")
	return conn
end

-- Asserts that the end-of-message phase asked for no change at all.
function t.assert_unchanged(conn, what)
	local checks = {
		{ "a header added", MT_HDRADD },
		{ "a header inserted", MT_HDRINSERT },
		{ "a header changed", MT_HDRCHANGE },
		{ "a header deleted", MT_HDRDELETE },
		{ "the body replaced", MT_BODYCHANGE },
		{ "quarantine requested", MT_QUARANTINE },
	}
	for _, c in ipairs(checks) do
		if mt.eom_check(conn, c[2]) then
			t.fail("%s: milter modified the message: %s", what, c[1])
		end
	end
	for _, code in ipairs({ "250", "421", "450", "451", "452", "550",
				"551", "552", "553", "554" }) do
		if mt.eom_check(conn, MT_SMTPREPLY, code) then
			t.fail("%s: milter set an SMTP reply %s", what, code)
		end
	end
end

-- Sends one message. m fields:
--   qid      value of the "i" macro (omitted: no "i" macro)
--   auth     value of {auth_authen} (omitted: not authenticated)
--   from     envelope sender path, e.g. "<a@example.com>"
--   rcpts    list of recipient paths
--   headers  list of { name, value } (default: one Subject)
--   body     list of chunks (default: one short line)
--   eom      list of acceptable final replies (default CONTINUE/ACCEPT)
--   stop_after  "rcpt" or "body": return before end of message
-- Returns the number of body bytes sent.
function t.message(conn, m)
	local label = "message " .. (m.qid or "without queue id")
	-- The MAIL macros replace those of the previous message, as an MTA
	-- sends them for every transaction.
	local macros = { "{mail_mailer}", "esmtp" }
	if m.qid ~= nil then
		macros[#macros + 1] = "i"
		macros[#macros + 1] = m.qid
	end
	if m.auth ~= nil then
		macros[#macros + 1] = "{auth_authen}"
		macros[#macros + 1] = m.auth
	end
	mt.macro(conn, SMFIC_MAIL, table.unpack(macros))
	t.step(label .. ": MAIL FROM " .. m.from, conn, mt.mailfrom, m.from)
	for _, r in ipairs(m.rcpts) do
		t.step(label .. ": RCPT TO " .. r, conn, mt.rcptto, r)
	end
	if m.stop_after == "rcpt" then
		return 0
	end
	local headers = m.headers or { { "Subject", "test " .. label } }
	for _, h in ipairs(headers) do
		t.step(label .. ": header " .. h[1], conn, mt.header, h[1], h[2])
	end
	t.step(label .. ": end of headers", conn, mt.eoh)
	local size = 0
	for i, chunk in ipairs(m.body or { "Hello.\r\n" }) do
		t.step(string.format("%s: body chunk %d", label, i), conn,
		       mt.bodystring, chunk)
		size = size + #chunk
	end
	if m.stop_after == "body" then
		return size
	end
	t.step(label .. ": end of message", conn, mt.eom,
	       m.eom or { SMFIR_CONTINUE, SMFIR_ACCEPT })
	t.assert_unchanged(conn, label)
	return size
end

-- Log helpers: the milter writes one line per event to the file "log".
function t.log_count(needle)
	local f = io.open(log, "r")
	if f == nil then
		return 0
	end
	local n = 0
	for line in f:lines() do
		if string.find(line, needle, 1, true) then
			n = n + 1
		end
	end
	f:close()
	return n
end

-- Waits until at least n lines contain needle; fails after seconds.
function t.wait_log(needle, n, seconds)
	local deadline = os.time() + (seconds or 10)
	while t.log_count(needle) < n do
		if os.time() > deadline then
			t.fail("timed out waiting for %d log line(s) containing %q",
			       n, needle)
		end
		mt.sleep(0.05)
	end
end

function t.expect_log(needle, n)
	local got = t.log_count(needle)
	if got ~= n then
		t.fail("expected %d log line(s) containing %q, found %d", n,
		       needle, got)
	end
end

function t.sh(cmd)
	local ok, how, code = os.execute(cmd)
	if not ok then
		t.fail("command failed (%s %s): %s", tostring(how),
		       tostring(code), cmd)
	end
end

function t.signal(name)
	t.sh(string.format("kill -%s %d", name, tonumber(pid)))
end

function t.alive()
	local ok = os.execute(string.format("kill -0 %d 2>/dev/null",
					    tonumber(pid)))
	return ok == true or ok == 0
end

-- Output of a shell command, as one string.
function t.capture(cmd)
	local p = io.popen(cmd, "r")
	local out = p:read("a")
	p:close()
	return out
end

return t
