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
local deadline = nil

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

function request()
  if deadline == nil then
    -- wrk calls request() once on the first thread to check the format, before any delay():
    -- that request is never sent, so it is not counted.
    return wrk.format(nil, nil, nil, "{}")
  end
  sent = sent + 1
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
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  received = received + 1
  last_recv = now()
  counts[status] = (counts[status] or 0) + 1
  if status == 201 then
    ids[#ids + 1] = tonumber(body:match('"id"%s*:%s*(%d+)')) or -1
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
  for _, thread in ipairs(threads) do
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
  local status_parts = {}
  for status, n in pairs(statuses) do
    status_parts[#status_parts + 1] = string.format('"%d":%d', status, n)
  end
  local e = summary.errors
  local out = assert(io.open(OUT .. "/summary.json", "w"))
  out:write(string.format(
    '{"sent":%d,"received":%d,"statuses":{%s},"elapsed_s":%.6f,'
      .. '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},'
      .. '"wrk_requests":%d,"wrk_duration_us":%d,"error_samples":[%s]}\n',
    total.sent, total.received, table.concat(status_parts, ","),
    (first and last) and (last - first) or 0,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, summary.requests, summary.duration, table.concat(samples, ",")))
  out:close()
end
