-- wrk script driven by bench/intake.py (not meant to be run on its own).
--
-- Every request is a distinct petition (the title and content carry a run tag, the thread and a
-- sequence number, so the exact-duplicate fingerprint never links two of them). Each thread counts
-- the requests it sent and the answers it got by status, remembers the case ids of its 201s, and
-- stops sending after PD_SECONDS or PD_BUDGET requests: `delay()` then parks the connection, so
-- nothing is in flight when wrk's own duration (PD_SECONDS plus a drain margin) ends and the count of
-- 201s can be compared exactly with the rows stored.
--
-- Parameters come from the environment (wrk passes script arguments to threads only):
--   PD_KIND    staff | public     PD_TOKEN  bearer token (staff)
--   PD_SECONDS measured seconds    PD_BUDGET most requests per thread
--   PD_TAG     run tag (unique)    PD_OUT    directory for the summary and the ids
-- Optional, for bench/load.py (staff kind; off by default):
--   PD_READ_EVERY  N: every Nth request reads back (GET) a case this thread created
--   PD_RETRY_EVERY N: every Nth submission is sent again with the same Idempotency-Key; its
--                  answer must be the first one replayed (same case id, nothing new stored)

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } pd_timespec;
int clock_gettime(int clk, pd_timespec *tp);
]])
local ts = ffi.new("pd_timespec")
local CLOCK_MONOTONIC = 1

local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local KIND = os.getenv("PD_KIND") or "staff"
local TOKEN = os.getenv("PD_TOKEN") or ""
local SECONDS = tonumber(os.getenv("PD_SECONDS") or "10")
local BUDGET = tonumber(os.getenv("PD_BUDGET") or "100000")
local TAG = os.getenv("PD_TAG") or "run"
local OUT = os.getenv("PD_OUT") or "."
local PARKED_MS = 1e9 -- "never": the connection waits for wrk to stop
local READ_EVERY = tonumber(os.getenv("PD_READ_EVERY") or "0")
local RETRY_EVERY = tonumber(os.getenv("PD_RETRY_EVERY") or "0")

-- main state -----------------------------------------------------------------------------------

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

-- thread state ---------------------------------------------------------------------------------

tid = 0
sent = 0
received = 0
counts = {}
ids = {}
errors_seen = {}
first_send = -1
last_recv = -1
reads_ok = 0
replayed = 0
retried = 0
replay_ids = {}
local deadline = nil
local submissions = 0
local retry_queue = {}

local TOPICS = {
  { "孩子入学学位分配问题", "户籍在本学区却被分配到十公里外的学校，请求重新分配学位。" },
  { "小区供暖温度不达标", "今年入冬以来室内温度长期低于十六度，多次向物业反映无人处理。" },
  { "拖欠农民工工资", "在某工地务工八个月，包工头拖欠工资至今未付，请求协调解决。" },
  { "道路施工噪音扰民", "夜间十一点后仍有重型机械施工，严重影响周边居民休息。" },
  { "低保资格审核问题", "家中老人长期患病无劳动能力，申请低保被退回，请求复核。" },
  { "建议增设公交线路", "新建小区距最近公交站两公里，建议增设一条社区接驳线路。" },
}

local STAFF_FMT = '{"title":"%s（%s-%d-%d）","content":"来信编号%s-%d-%d。%s 来信人称此事已持续%d个月。",'
  .. '"category":"claim","division_code":"990101","channel":"letter",'
  .. '"petitioners":[{"name":"王小明%d","phone":"1380000%04d","id_number":"99010119800101%04d"}]}'
local PUBLIC_FMT = '{"title":"%s（%s-%d-%d）","content":"网上投诉编号%s-%d-%d。%s 已等待%d天。",'
  .. '"division_code":"990101",'
  .. '"petitioners":[{"name":"李华%d","phone":"1390000%04d","address":"示范县幸福路%d号"}]}'

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
  if KIND == "staff" then
    wrk.headers["Authorization"] = "Bearer " .. TOKEN
  end
end

function delay()
  local t = now()
  if deadline == nil then
    first_send = t
    deadline = t + SECONDS
  end
  if sent >= BUDGET or t >= deadline then
    return PARKED_MS
  end
  return 0
end

-- wrk.format uses the headers given *instead of* wrk.headers: copy them, then add the key.
local function with_key(key)
  local headers = {}
  for name, value in pairs(wrk.headers) do
    headers[name] = value
  end
  headers["Idempotency-Key"] = key
  return headers
end

function request()
  if deadline == nil then
    -- wrk calls request() once on the first thread to check the format, before any delay():
    -- that request is never sent, so it is not counted.
    return wrk.format(nil, nil, nil, "{}")
  end
  sent = sent + 1
  if READ_EVERY > 0 and sent % READ_EVERY == 0 and #ids > 0 then
    local id = ids[(sent * 7919) % #ids + 1]
    return wrk.format("GET", "/api/v1/petitions/" .. id, nil, nil)
  end
  if #retry_queue > 0 then
    local again = table.remove(retry_queue, 1)
    retried = retried + 1
    return wrk.format(nil, nil, with_key(again[1]), again[2])
  end
  submissions = submissions + 1
  local topic = TOPICS[(sent + tid) % #TOPICS + 1]
  local n = sent % 10000
  local body
  if KIND == "staff" then
    body = string.format(STAFF_FMT, topic[1], TAG, tid, sent, TAG, tid, sent, topic[2],
      sent % 24 + 1, n, n, n)
  else
    body = string.format(PUBLIC_FMT, topic[1], TAG, tid, sent, TAG, tid, sent, topic[2],
      sent % 90 + 1, n, n, n % 500 + 1)
  end
  if RETRY_EVERY > 0 and submissions % RETRY_EVERY == 0 then
    -- Sent now and queued for the next request: the retry may overlap the original (a client
    -- that timed out) or follow it; either way exactly one of the two may create the case.
    local key = TAG .. "-" .. tid .. "-" .. sent
    retry_queue[#retry_queue + 1] = { key, body }
    return wrk.format(nil, nil, with_key(key), body)
  end
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  received = received + 1
  last_recv = now()
  counts[status] = (counts[status] or 0) + 1
  local replay = headers["Idempotent-Replayed"] or headers["idempotent-replayed"]
  if status == 201 and replay then
    replayed = replayed + 1
    replay_ids[#replay_ids + 1] = tonumber(body:match('"id"%s*:%s*(%d+)')) or -1
  elseif status == 201 then
    ids[#ids + 1] = tonumber(body:match('"id"%s*:%s*(%d+)')) or -1
  elseif status == 200 and READ_EVERY > 0 then
    reads_ok = reads_ok + 1
  elseif #errors_seen < 5 then
    errors_seen[#errors_seen + 1] = status .. " " .. body:sub(1, 300)
  end
end

-- main state again -----------------------------------------------------------------------------

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

function done(summary, latency, requests)
  local total = { sent = 0, received = 0 }
  local statuses = {}
  local first, last = nil, nil
  local idfile = assert(io.open(OUT .. "/ids.txt", "w"))
  local samples = {}
  local replayfile = assert(io.open(OUT .. "/replay_ids.txt", "w"))
  local reads_total, replayed_total, retries_total = 0, 0, 0
  for _, thread in ipairs(threads) do
    retries_total = retries_total + thread:get("retried")
    reads_total = reads_total + thread:get("reads_ok")
    replayed_total = replayed_total + thread:get("replayed")
    for _, id in ipairs(thread:get("replay_ids")) do
      replayfile:write(id, "\n")
    end
    total.sent = total.sent + thread:get("sent")
    total.received = total.received + thread:get("received")
    for status, n in pairs(thread:get("counts")) do
      statuses[status] = (statuses[status] or 0) + n
    end
    for _, id in ipairs(thread:get("ids")) do
      idfile:write(id, "\n")
    end
    for _, e in ipairs(thread:get("errors_seen")) do
      samples[#samples + 1] = json_string(e)
    end
    local f, l = thread:get("first_send"), thread:get("last_recv")
    if f >= 0 and (first == nil or f < first) then first = f end
    if l >= 0 and (last == nil or l > last) then last = l end
  end
  idfile:close()
  replayfile:close()
  local status_parts = {}
  for status, n in pairs(statuses) do
    status_parts[#status_parts + 1] = string.format('"%d":%d', status, n)
  end
  local e = summary.errors
  local out = assert(io.open(OUT .. "/summary.json", "w"))
  out:write(string.format(
    '{"sent":%d,"received":%d,"statuses":{%s},"elapsed_s":%.6f,'
      .. '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},'
      .. '"latency_us":{"p50":%d,"p90":%d,"p95":%d,"p99":%d,"max":%d,"mean":%.1f},'
      .. '"reads_ok":%d,"replayed":%d,"retries":%d,'
      .. '"wrk_requests":%d,"wrk_duration_us":%d,"error_samples":[%s]}\n',
    total.sent, total.received, table.concat(status_parts, ","),
    (first and last) and (last - first) or 0,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean, reads_total, replayed_total, retries_total,
    summary.requests, summary.duration, table.concat(samples, ",")))
  out:close()
end
