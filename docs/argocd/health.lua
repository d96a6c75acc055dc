-- Argo CD health check for ecs.sgrestore.io/SecurityGroupRestore (sgrestore).
-- Install: argocd-cm key resource.customizations.health.ecs.sgrestore.io_SecurityGroupRestore (docs/gitops.md).
-- Cases: health_test.yaml beside this file; test/integration/argocd-health.test.ts runs them with a Lua 5.1
-- interpreter (Argo CD runs gopher-lua, which is Lua 5.1).
--
-- The same order as kstatus (Flux, kubectl wait), so every tool tells the same story:
--   1. the operator has not seen the latest spec yet        -> Progressing
--   2. Stalled=True: a person must fix something            -> Degraded, with the operator's reason and message
--   3. phase Suspended (spec.suspend)                       -> Suspended
--   4. phase AwaitingApproval (approval Manual)             -> Suspended: nothing happens until a person approves
--      the plan, so this is a pause, like a paused Argo Rollout, not progress that will finish on its own
--   5. Ready=True                                           -> Healthy
--   6. anything else (planning, applying, a transient error being retried) -> Progressing
local hs = { status = "Progressing", message = "Waiting for the sgrestore operator to pick up this restore" }

if obj.status == nil then
  return hs
end
local status = obj.status

local generation = obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= nil and status.observedGeneration ~= generation then
  hs.message = "Waiting for the sgrestore operator to observe generation " .. generation
  return hs
end

local conditions = {}
if status.conditions ~= nil then
  for _, condition in ipairs(status.conditions) do
    if condition.type ~= nil then
      conditions[condition.type] = condition
    end
  end
end

local function describe(condition)
  local message = condition.message
  if message == nil or message == "" then
    message = status.message or ""
  end
  if condition.reason ~= nil and condition.reason ~= "" then
    if message == "" then
      return condition.reason
    end
    return condition.reason .. ": " .. message
  end
  return message
end

local stalled = conditions["Stalled"]
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end

-- The operator's own message says what to do (and, for an approval, whether an older one went out of date).
local function operatorMessage(fallback)
  if status.message ~= nil and status.message ~= "" then
    return status.message
  end
  return fallback
end

if status.phase == "Suspended" then
  hs.status = "Suspended"
  hs.message = operatorMessage("spec.suspend is true: nothing is planned or applied")
  return hs
end

if status.phase == "AwaitingApproval" then
  hs.status = "Suspended"
  local planHash = ""
  if status.preview ~= nil and status.preview.planHash ~= nil then
    planHash = " " .. status.preview.planHash
  end
  hs.message = operatorMessage("awaiting approval of plan" .. planHash .. ": set spec.approvedPlanHash to it")
  return hs
end

local ready = conditions["Ready"]
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end

local reconciling = conditions["Reconciling"]
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = describe(reconciling)
elseif ready ~= nil then
  hs.message = describe(ready)
elseif status.message ~= nil and status.message ~= "" then
  hs.message = status.message
end
return hs
