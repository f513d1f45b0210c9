// One batch of a batched change's removed or added facts, as JSON (see match_change_parts).
CREATE (:ChangePart {change_id: $change_id, n: $n, payload: $payload})
