-- What the Overworld frontend does, replayed by wrk (bench/run.py --mix-duration).
--
-- Run with as many threads as connections (wrk -tN -cN): each thread then has one connection,
-- its requests and responses strictly alternate, and each response's latency is timed against
-- its own request, per route. Arguments after `--`: the data file written by bench/prepare.py
-- (lines "actor <username> <token>", "login <username> <password>", "profile <username>") and
-- a tag that keeps registered usernames unique across runs.
--
-- Every page load calls GET user/. Then, per page:
--   ~60 % a profile view; ~15 % a follow, then both profiles re-read; ~10 % an unfollow, then
--   both re-read; ~10 % the caller's own profile; ~4 % a settings save (all five fields, as the
--   frontend sends them), ~0.6 % a login, ~0.4 % a registration.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } overworld_timespec;
int clock_gettime(int clk_id, overworld_timespec *tp);
]]
local ts = ffi.new("overworld_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local PASSWORD_FOR_NEW = "selfie-summit-42-mountain"
ROUTES = { "user", "profile", "follow", "unfollow", "settings", "login", "register" }
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
  table.insert(threads, thread)
end

function init(args)
  actors, logins, profiles = {}, {}, {}
  for line in io.lines(args[1]) do
    local kind, a, b = line:match("^(%S+) (%S+) ?(%S*)$")
    if kind == "actor" then
      table.insert(actors, { name = a, token = b })
    elseif kind == "login" then
      table.insert(logins, { name = a, password = b })
    elseif kind == "profile" then
      table.insert(profiles, a)
    end
  end
  tag = args[2] or "x"
  me = actors[(thread_id - 1) % #actors + 1]
  math.randomseed(thread_id * 7919)
  queue, pending, made = {}, nil, 0
  -- One flat global table per route (lat_<route>) and a count (err_<route>): wrk's
  -- thread:get() copies flat tables of numbers, and crashes on nested ones.
  for _, route in ipairs(ROUTES) do
    _G["lat_" .. route] = {}
    _G["err_" .. route] = 0
  end
end

local function json_string(s)
  return '"' .. s .. '"'
end

local function push(route, method, path, body, auth, expect)
  local headers = { ["Accept-Encoding"] = "gzip" }
  if auth then
    headers["Authorization"] = "Token " .. me.token
  end
  if body then
    headers["Content-Type"] = "application/json"
  end
  table.insert(queue, { route = route, expect = expect or 200,
                        req = wrk.format(method, path, headers, body) })
end

local function other_actor()
  local other = actors[math.random(#actors)]
  if other.name == me.name then
    other = actors[(thread_id % #actors) + 1]
  end
  return other
end

local function next_page()
  push("user", "GET", "/api/users/user/", nil, true)
  local roll = math.random() * 100
  if roll < 60 then
    push("profile", "GET", "/api/users/" .. profiles[math.random(#profiles)], nil, true)
  elseif roll < 85 then
    local verb = roll < 75 and "follow" or "unfollow"
    local other = other_actor()
    push(verb, "POST", "/api/users/" .. verb .. "/", '{"username": ' .. json_string(other.name) .. '}', true)
    push("profile", "GET", "/api/users/" .. other.name, nil, true)
    push("profile", "GET", "/api/users/" .. me.name, nil, true)
  elseif roll < 95 then
    push("profile", "GET", "/api/users/" .. me.name, nil, true)
  elseif roll < 99 then
    local body = '{"username": ' .. json_string(me.name) .. ', "email": ' ..
        json_string(me.name .. "@example.com") .. ', "bio": "Page ' .. made ..
        '", "location": "A Mountain", "twitter": null}'
    push("settings", "POST", "/api/users/profile/" .. me.name, body, true)
  elseif roll < 99.6 then
    local who = logins[math.random(#logins)]
    push("login", "POST", "/api/users/login/", '{"username": ' .. json_string(who.name) ..
        ', "password": ' .. json_string(who.password) .. '}', false)
  else
    made = made + 1
    local name = "r" .. tag .. "t" .. thread_id .. "n" .. made
    push("register", "POST", "/api/users/register/", '{"username": ' .. json_string(name) ..
        ', "email": ' .. json_string(name .. "@example.com") .. ', "password": ' ..
        json_string(PASSWORD_FOR_NEW) .. '}', false)
  end
end

function request()
  if #queue == 0 then
    next_page()
  end
  pending = table.remove(queue, 1)
  pending.started = now_ms()
  return pending.req
end

function response(status, headers, body)
  if pending == nil then
    return
  end
  local route = pending.route
  local values = _G["lat_" .. route]
  values[#values + 1] = now_ms() - pending.started
  if status ~= pending.expect then
    _G["err_" .. route] = _G["err_" .. route] + 1
  end
  pending = nil
end

local function percentile(sorted, p)
  if #sorted == 0 then
    return 0
  end
  local index = math.max(1, math.ceil(#sorted * p))
  return sorted[index]
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  for _, route in ipairs(ROUTES) do
    local values, failed = {}, 0
    for _, thread in ipairs(threads) do
      for _, v in ipairs(thread:get("lat_" .. route)) do
        values[#values + 1] = v
      end
      failed = failed + thread:get("err_" .. route)
    end
    if #values > 0 then
      table.sort(values)
      io.write(string.format("ROUTE %s count=%d rps=%.2f p50=%.2f p99=%.2f errors=%d\n",
        route, #values, #values / seconds, percentile(values, 0.5), percentile(values, 0.99),
        failed))
    end
  end
end
