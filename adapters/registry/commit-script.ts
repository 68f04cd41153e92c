/**
 * Every registry write is one Lua script, so a change is atomic across instances: all devices of
 * the batch are compared against the exact JSON the writer read (optimistic concurrency: a
 * concurrent writer makes this one retry instead of losing its change), then written with their
 * MN index entries and audit entries, the version is bumped and the change published. A MULTI
 * would not do: it cannot compare-and-set, and it does not roll back when one command fails.
 *
 * KEYS: devices hash, MN index hash, audit stream, version counter.
 * ARGV: channel, audit MAXLEN, by, at, action, ids JSON, n, then per device:
 *       id, expected JSON ('' = absent), new JSON, old MN, new MN, audit before, audit after.
 * Returns the new version, or an error reply `CONFLICT <id>` / `MNTAKEN <mn> <owner>`.
 */
export const COMMIT_SCRIPT = `
local n = tonumber(ARGV[7])
local base = 8
for i = 0, n - 1 do
  local o = base + i * 7
  local cur = redis.call('HGET', KEYS[1], ARGV[o])
  if cur == false then cur = '' end
  if cur ~= ARGV[o + 1] then return redis.error_reply('CONFLICT ' .. ARGV[o]) end
  local mn = ARGV[o + 4]
  if mn ~= '' then
    local owner = redis.call('HGET', KEYS[2], mn)
    if owner and owner ~= ARGV[o] then return redis.error_reply('MNTAKEN ' .. mn .. ' ' .. owner) end
  end
end
for i = 0, n - 1 do
  local o = base + i * 7
  redis.call('HSET', KEYS[1], ARGV[o], ARGV[o + 2])
  if ARGV[o + 3] ~= '' and ARGV[o + 3] ~= ARGV[o + 4] then redis.call('HDEL', KEYS[2], ARGV[o + 3]) end
  if ARGV[o + 4] ~= '' then redis.call('HSET', KEYS[2], ARGV[o + 4], ARGV[o]) end
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*',
    'action', ARGV[5], 'id', ARGV[o], 'by', ARGV[3], 'at', ARGV[4],
    'before', ARGV[o + 5], 'after', ARGV[o + 6])
end
local v = redis.call('INCR', KEYS[4])
redis.call('PUBLISH', ARGV[1], v .. ' ' .. ARGV[6])
return v
`;
