-- SPDX-License-Identifier: BSD-2-Clause
-- A 200 000-byte body sent in 50 chunks goes to a private file in the
-- spool directory (an open descriptor, never a name in the directory),
-- the message passes unchanged, and the file is gone at end of message.
-- The spool threshold is 4096: a body of exactly 4096 bytes stays in
-- memory, 4097 bytes spool.
local t = dofile(mtlib)

local function spool_fds()
	local out = t.capture("ls -l /proc/" .. tonumber(pid) .. "/fd 2>&1")
	local n = 0
	for line in string.gmatch(out, "[^\n]+") do
		if string.find(line, spooldir .. "/", 1, true) then
			n = n + 1
		end
	end
	return n, out
end

local function assert_dir_empty(when)
	local out = t.capture("ls -A '" .. spooldir .. "'")
	if out ~= "" then
		t.fail("%s: spool directory is not empty: %s", when, out)
	end
end

local function chunks(total, size)
	local list, left, line = {}, total, 0
	while left > 0 do
		local n = math.min(size, left)
		-- Lines of 80 bytes, numbered, so the content is not uniform.
		local parts, len = {}, 0
		while len < n do
			line = line + 1
			local l = string.format("%06d %s\r\n", line,
						string.rep("m", 71))
			parts[#parts + 1] = l
			len = len + #l
		end
		list[#list + 1] = string.sub(table.concat(parts), 1, n)
		left = left - n
	end
	return list
end

t.main(function()
	local conn = t.open("192.0.2.10")
	local big = chunks(200000, 4000)
	if #big ~= 50 then
		t.fail("expected 50 chunks, built %d", #big)
	end
	local size = t.message(conn, { qid = "L1", from = "<s@remote.test>",
		rcpts = { "<a@example.com>" }, body = big,
		stop_after = "body" })
	if size ~= 200000 then
		t.fail("sent %d bytes instead of 200000", size)
	end
	-- The milter logs the switch to disk when it happens.
	t.wait_log("body over 4096 bytes: spooled to a private file in "
		   .. spooldir, 1, 5)
	assert_dir_empty("during the message")
	local n, listing = spool_fds()
	if n ~= 1 then
		t.fail("expected 1 open file in %s during the message, found "
		       .. "%d:\n%s", spooldir, n, listing)
	end
	t.step("L1 end of message", conn, mt.eom,
	       { SMFIR_CONTINUE, SMFIR_ACCEPT })
	t.assert_unchanged(conn, "L1")
	n, listing = spool_fds()
	if n ~= 0 then
		t.fail("spool file still open after end of message:\n%s",
		       listing)
	end
	assert_dir_empty("after the message")

	-- Exactly the threshold: stays in memory.
	t.message(conn, { qid = "L2", from = "<s@remote.test>",
		rcpts = { "<a@example.com>" }, body = chunks(4096, 1000) })
	t.expect_log("spooled to a private file", 1)

	-- One byte more, in the last chunk: spools.
	t.message(conn, { qid = "L3", from = "<s@remote.test>",
		rcpts = { "<a@example.com>" },
		body = { string.rep("z", 4096), "\n" } })
	t.expect_log("spooled to a private file", 2)
	assert_dir_empty("after L3")
	n, listing = spool_fds()
	if n ~= 0 then
		t.fail("spool file of L3 still open:\n%s", listing)
	end
	mt.disconnect(conn)
end)
