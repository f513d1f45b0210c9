// The JSON payloads of a batched change's batches, in order.
MATCH (p:ChangePart {change_id: $id})
RETURN p.payload AS payload
ORDER BY p.n
