#!lua name=copbench
--[[
The copbench plugins' pushdown on Redis Cluster (Redis 7 Functions, Lua 5.1).

Every function reads one unit: ranks ARGV[1]..ARGV[2] of the bucket KEYS[1] (a sorted set whose
members are rows: u16 LE key length, key, value; see layout.ts), with ARGV[3] the plugin's request
as JSON. Each returns the partial result the TypeScript plugin's `handle` returns for the same
rows, doing the same floating-point operations in the same row order, so the client's `merge`
gives the same answer in both paths. Doubles leave as 8 raw bytes (struct.pack '<d'): a Lua number
in a reply would be truncated to an integer, and text would need a round-trip format.

Values are decoded as engine/plugin-api.ts RecordCodec lays them out: a format byte, the fixed
columns at fixed offsets in schema order (f64 8, i32 4, u32 4, bool 1 byte, little-endian), then
each string column as u16 length + bytes.
]]

local WIDTH = { f64 = 8, i32 = 4, u32 = 4, bool = 1 }
local FORMAT = { f64 = '<d', i32 = '<i4', u32 = '<I4' }

-- Column slots of a schema: offsets are 0-based as in RecordCodec (byte 0 is the format byte).
local function columns(schema)
  local slots, offset, strings = {}, 1, 0
  for _, c in ipairs(schema.columns) do
    if c.type == 'string' then
      slots[c.name] = { type = 'string', index = strings }
      strings = strings + 1
    elseif WIDTH[c.type] then
      slots[c.name] = { type = c.type, offset = offset }
      offset = offset + WIDTH[c.type]
    else
      error('copbench: unknown column type ' .. tostring(c.type))
    end
  end
  return slots, offset
end

local function slot_of(slots, name)
  local s = slots[name]
  if not s then error('copbench: the schema has no column ' .. tostring(name)) end
  return s
end

-- A reader(member, base) of one column, where the value's byte 0 sits at member position base.
-- Values are what RecordCodec.accessor returns: numbers, booleans, strings.
local function reader(slots, fixed_end, name)
  local s = slot_of(slots, name)
  if s.type == 'bool' then
    local o = s.offset
    return function(m, base) return string.byte(m, base + o) == 1 end
  elseif s.type == 'string' then
    local index = s.index
    return function(m, base)
      local pos = base + fixed_end
      for _ = 1, index do pos = pos + 2 + struct.unpack('<H', m, pos) end
      local n = struct.unpack('<H', m, pos)
      return string.sub(m, pos + 2, pos + 1 + n)
    end
  end
  local fmt, o = FORMAT[s.type], s.offset
  return function(m, base) return (struct.unpack(fmt, m, base + o)) end
end

-- As RecordCodec.numberAccessor: bool columns read as 0/1; string columns are refused.
local function number_reader(slots, fixed_end, name)
  local s = slot_of(slots, name)
  if s.type == 'string' then error('copbench: column ' .. name .. ' is not numeric') end
  local read = reader(slots, fixed_end, name)
  if s.type == 'bool' then return function(m, base) return read(m, base) and 1 or 0 end end
  return read
end

local COMPARE = {
  ['<'] = function(a, b) return a < b end,
  ['<='] = function(a, b) return a <= b end,
  ['>'] = function(a, b) return a > b end,
  ['>='] = function(a, b) return a >= b end,
  ['=='] = function(a, b) return a == b end,
  ['!='] = function(a, b) return a ~= b end,
}

-- A conjunction of conditions, as compilePredicate (the client has checked value types).
local function predicate(slots, fixed_end, conditions)
  local tests = {}
  for i, c in ipairs(conditions or {}) do
    local read, cmp, v = reader(slots, fixed_end, c.column), COMPARE[c.op], c.value
    if not cmp then error('copbench: unknown operator ' .. tostring(c.op)) end
    tests[i] = function(m, base) return cmp(read(m, base), v) end
  end
  local n = #tests
  return function(m, base)
    for i = 1, n do
      if not tests[i](m, base) then return false end
    end
    return true
  end
end

-- The unit's members, and the position of each member's value byte 0 (after its key).
local function unit_rows(keys, args)
  return redis.call('ZRANGE', keys[1], args[1], args[2])
end

local function value_base(m)
  return 3 + struct.unpack('<H', m, 1)
end

-- filter: {count} or {count, {member…}} (rows kept in rank order, at most `limit`).
local function filter(keys, args)
  local req = cjson.decode(args[3])
  local slots, fixed_end = columns(req.schema)
  local matches = predicate(slots, fixed_end, req.where)
  local keep = req.output ~= 'count'
  local limit = (type(req.limit) == 'number') and req.limit or math.huge
  local members = unit_rows(keys, args)
  local count, rows = 0, {}
  for i = 1, #members do
    local m = members[i]
    if matches(m, value_base(m)) then
      count = count + 1
      if keep and #rows < limit then rows[#rows + 1] = m end
    end
  end
  if keep then return { count, rows } end
  return { count }
end

-- aggregate: {{group, state}…} with state = n, mean, m2, sum, min, max as six '<d'; a numeric
-- group (or any group with groupModulo) leaves as '<d' and the client formats it as String() does.
local function aggregate(keys, args)
  local req = cjson.decode(args[3])
  local slots, fixed_end = columns(req.schema)
  local value = number_reader(slots, fixed_end, req.column)
  local matches = predicate(slots, fixed_end, req.where)
  local group
  if type(req.groupBy) == 'string' then
    local modulo = req.groupModulo
    if type(modulo) == 'number' and modulo ~= 0 then
      local read = number_reader(slots, fixed_end, req.groupBy)
      -- JS: Math.floor(x) % modulo; C's fmod keeps the dividend's sign as JS's % does.
      group = function(m, base) return math.fmod(math.floor(read(m, base)), modulo) end
    else
      group = reader(slots, fixed_end, req.groupBy)
    end
  else
    group = function() return '' end
  end
  local states, order = {}, {}
  local members = unit_rows(keys, args)
  for i = 1, #members do
    local m = members[i]
    local base = value_base(m)
    if matches(m, base) then
      local k = group(m, base)
      local x = value(m, base)
      local g = states[k]
      if not g then
        states[k] = { 1, x, 0, x, x, x }
        order[#order + 1] = k
      else
        -- Welford's update, operation for operation as plugins/aggregate.ts.
        local n = g[1] + 1
        g[1] = n
        local delta = x - g[2]
        g[2] = g[2] + delta / n
        g[3] = g[3] + delta * (x - g[2])
        g[4] = g[4] + x
        if x < g[5] then g[5] = x end
        if x > g[6] then g[6] = x end
      end
    end
  end
  local out = {}
  for i, k in ipairs(order) do
    local g = states[k]
    local key
    if type(k) == 'number' then key = struct.pack('<d', k)
    elseif type(k) == 'boolean' then key = k and 'true' or 'false'
    else key = k end
    out[i] = { key, struct.pack('<dddddd', g[1], g[2], g[3], g[4], g[5], g[6]) }
  end
  return out
end

-- log(1 + x) accurately for small x (Lua 5.1 has no log1p): the classic u = 1 + x correction.
local function log1p(x)
  local u = 1 + x
  if u == 1 then return x end
  return math.log(u) * x / (u - 1)
end

-- As plugins/sgd.ts: log(1 + e^z) without overflow, and the logistic function.
local function softplus(z)
  if z > 0 then return z + log1p(math.exp(-z)) end
  return log1p(math.exp(z))
end

local function sigmoid(z)
  if z >= 0 then return 1 / (1 + math.exp(-z)) end
  local e = math.exp(z)
  return e / (1 + e)
end

-- sgd: n, gradientBias, loss, correct, gradient[1..d] as '<d' each (the plugin's SgdPartial).
local function sgd(keys, args)
  local req = cjson.decode(args[3])
  local slots, fixed_end = columns(req.schema)
  local d = #req.features
  local readers = {}
  for j = 1, d do readers[j] = number_reader(slots, fixed_end, req.features[j]) end
  local target
  if type(req.labelWhere) == 'table' then
    local labelled = predicate(slots, fixed_end, req.labelWhere)
    target = function(m, base) return labelled(m, base) and 1 or 0 end
  else
    target = number_reader(slots, fixed_end, req.target)
  end
  local offset, factor = {}, {}
  local scale = (type(req.scale) == 'table') and req.scale or nil
  for j = 1, d do
    offset[j] = scale and scale.offset[j] or 0
    factor[j] = scale and scale.factor[j] or 1
  end
  local w, bias, logistic = req.weights, req.bias, req.task == 'logistic'
  local x, g = {}, {}
  for j = 1, d do g[j] = 0 end
  local n, gb, loss, correct = 0, 0, 0, 0
  local members = unit_rows(keys, args)
  for i = 1, #members do
    local m = members[i]
    local base = value_base(m)
    local z = bias
    for j = 1, d do
      local xj = (readers[j](m, base) - offset[j]) * factor[j]
      x[j] = xj
      z = z + w[j] * xj
    end
    local t = target(m, base)
    local r
    if logistic then
      if t ~= 0 and t ~= 1 then error("copbench: logistic regression needs a 0/1 target, column '" .. tostring(req.target) .. "' holds " .. tostring(t)) end
      loss = loss + (softplus(z) - t * z)
      r = sigmoid(z) - t
      if ((z >= 0) and 1 or 0) == t then correct = correct + 1 end
    else
      r = z - t
      loss = loss + 0.5 * r * r
    end
    gb = gb + r
    for j = 1, d do g[j] = g[j] + r * x[j] end
    n = n + 1
  end
  return struct.pack('<' .. string.rep('d', 4 + d), n, gb, loss, correct, unpack(g))
end

-- A point write (YCSB update/insert): the row with ordinal ARGV[1] becomes the member ARGV[2].
-- One function, so removing the old member and adding the new one is atomic.
local function put(keys, args)
  redis.call('ZREMRANGEBYSCORE', keys[1], args[1], args[1])
  return redis.call('ZADD', keys[1], args[1], args[2])
end

redis.register_function { function_name = 'copbench_put', callback = put }
redis.register_function { function_name = 'copbench_filter', callback = filter, flags = { 'no-writes' } }
redis.register_function { function_name = 'copbench_aggregate', callback = aggregate, flags = { 'no-writes' } }
redis.register_function { function_name = 'copbench_sgd', callback = sgd, flags = { 'no-writes' } }
