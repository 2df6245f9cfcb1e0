//! The Lua scripts behind every multi-key step of the Redis store. Redis runs a script as one
//! atomic unit, so each of these is a compare-and-set that no other instance can interleave.
//!
//! All numbers (versions, deadlines) travel as decimal strings and are written back as the
//! strings they arrived as: Lua 5.1 turns numbers into text with 14 significant digits, which
//! would corrupt millisecond deadlines. `tonumber` is used only to compare.

/// Drops outbox entries whose `give_up_at` has passed (their token has expired), at most 100
/// per call so a large backlog cannot stall Redis; later calls drain the rest.
/// Keys: 1 due index, 2 entries, 3 give-up index.
const PURGE: &str = r#"
local function drop(id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[3], id)
end
local function purge(now)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 100)) do
    drop(id)
  end
end
"#;

/// Creates a flow at version 1 unless the cap on live flows is reached (returns 0).
/// The index of live flows is a sorted set scored by expiry: expired members are trimmed
/// first, so only flows that are still alive count. The index itself expires with its
/// longest-lived member.
/// Keys: 1 flow, 2 live-flow index. Args: 1 data, 2 expires_at, 3 now, 4 cap, 5 flow id.
pub const CREATE_FLOW: &str = r#"
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', '1', 'd', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[5])
if redis.call('PTTL', KEYS[2]) == -1 then
  redis.call('PEXPIREAT', KEYS[2], ARGV[2])
else
  redis.call('PEXPIREAT', KEYS[2], ARGV[2], 'GT')
end
return 1
"#;

/// Compare-and-set of a flow plus, in the same atomic step, an optional outbox entry.
/// HSET keeps the key's expiry, so the flow keeps its deadline.
/// Keys: 1 flow, 2 due index, 3 entries, 4 give-up index.
/// Args: 1 expected version, 2 new version, 3 data, 4 "1" if an entry follows,
/// 5 entry id, 6 entry JSON, 7 due_at, 8 give_up_at.
pub const UPDATE_FLOW: &str = r#"
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
  redis.call('ZADD', KEYS[2], ARGV[7], ARGV[5])
  redis.call('ZADD', KEYS[4], ARGV[8], ARGV[5])
end
return 1
"#;

/// Extends a live session's idle deadline to min(candidate, absolute end). A session whose
/// fields are missing or not numbers is treated as absent.
/// Keys: 1 session. Args: 1 now, 2 candidate deadline (now + idle).
pub const TOUCH_SESSION: &str = r#"
local s = redis.call('HMGET', KEYS[1], 'i', 'a')
local idle, absolute = tonumber(s[1]), tonumber(s[2])
if not idle or not absolute or idle <= tonumber(ARGV[1]) then return 0 end
local deadline = ARGV[2]
if absolute < tonumber(ARGV[2]) then deadline = s[2] end
redis.call('HSET', KEYS[1], 'i', deadline)
redis.call('PEXPIREAT', KEYS[1], deadline)
return 1
"#;

/// Claims up to `limit` entries whose score (max of due time and lease end) has passed and
/// leases them by re-scoring them to the lease end. Returns a flat list id, JSON, id, JSON...
/// Entries past their give-up time or missing a part are dropped, not returned.
/// Keys: 1 due index, 2 entries, 3 give-up index. Args: 1 now, 2 lease end, 3 limit.
const CLAIM: &str = r#"
purge(ARGV[1])
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])) do
  local entry = redis.call('HGET', KEYS[2], id)
  local give_up = tonumber(redis.call('ZSCORE', KEYS[3], id))
  if entry and give_up and give_up > tonumber(ARGV[1]) then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    out[#out + 1] = id
    out[#out + 1] = entry
  else
    drop(id)
  end
end
return out
"#;

/// The earliest score in the due index (a due time, or a lease end), after dropping
/// given-up entries. Keys: 1 due index, 2 entries, 3 give-up index. Args: 1 now.
const NEXT_DUE: &str = r#"
purge(ARGV[1])
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then return false end
return first[2]
"#;

/// Puts a claimed entry back with its new fields and due time (lease released), only if it
/// is still in the outbox: a removed or given-up entry is not brought back.
/// Keys: 1 due index, 2 entries, 3 give-up index. Args: 1 id, 2 JSON, 3 due_at, 4 give_up_at.
pub const RESCHEDULE: &str = r#"
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return 1
"#;

pub fn claim() -> String {
    format!("{PURGE}{CLAIM}")
}

pub fn next_due() -> String {
    format!("{PURGE}{NEXT_DUE}")
}
