-- Argo CD health check for mailsync.dev/v1alpha1 Mailbox, EmailServerProfile and Deployment
-- (one script for the three kinds; install it under each kind's key, see README.md).
--
-- It reads the kstatus conditions the operator writes (Ready, Reconciling, Stalled) and
-- observedGeneration, in the order Flux's kstatus does, so Argo CD and Flux agree:
--   no status yet, or generation not yet observed  -> Progressing
--   Mailbox with spec.suspended: true              -> Suspended
--   Stalled=True  (a permanent failure, or the retry budget ran out)     -> Degraded
--   Reconciling=True (a transient failure is being retried)              -> Progressing
--   Ready=True                                                           -> Healthy
--   Ready=False, reason AwaitingApproval           -> Progressing (see below)
--   Ready=False, any other reason                  -> Degraded
--   no Ready condition, or Ready=Unknown           -> Progressing
--
-- AwaitingApproval is Progressing, not Degraded and not Suspended: the mailbox is correct as
-- written in Git and turns Healthy without any change to Git once an approver acts; Degraded
-- would page people for a normal step of the workflow, and Suspended is kept for what Git itself
-- asks for (spec.suspended). Note that a Progressing resource holds back later sync waves until
-- it is approved; if that is not wanted, return "Suspended" in that branch instead.
--
-- Argo CD runs this in gopher-lua (Lua 5.1) with only the base and table libraries: no string
-- library, so only the `..` operator is used on strings.

local function condition(conditionType)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function describe(c)
  local reason = c.reason or c.type
  if c.message == nil or c.message == "" then
    return reason
  end
  return reason .. ": " .. c.message
end

local function health()
  local generation = nil
  if obj.metadata ~= nil then
    generation = obj.metadata.generation
    if obj.metadata.deletionTimestamp ~= nil then
      return "Progressing", "being deleted"
    end
  end
  if obj.status == nil then
    return "Progressing", "waiting for the operator to report status"
  end
  if generation ~= nil and obj.status.observedGeneration ~= generation then
    return "Progressing", "waiting for the operator to observe generation " .. generation
  end
  if obj.kind == "Mailbox" and obj.spec ~= nil and obj.spec.suspended == true then
    return "Suspended", "spec.suspended is true: the mailbox processes no mail"
  end

  local stalled = condition("Stalled")
  if stalled ~= nil and stalled.status == "True" then
    return "Degraded", describe(stalled)
  end
  local reconciling = condition("Reconciling")
  if reconciling ~= nil and reconciling.status == "True" then
    return "Progressing", describe(reconciling)
  end

  local ready = condition("Ready")
  if ready == nil or ready.status == "Unknown" then
    return "Progressing", "waiting for the Ready condition"
  end
  if generation ~= nil and ready.observedGeneration ~= nil and ready.observedGeneration ~= generation then
    return "Progressing", "waiting for the Ready condition of generation " .. generation
  end
  if ready.status == "True" then
    return "Healthy", ready.message or "Ready"
  end
  if ready.reason == "AwaitingApproval" then
    return "Progressing", describe(ready)
  end
  return "Degraded", describe(ready)
end

local hs = {}
hs.status, hs.message = health()
return hs
