// clear(), step 1: every FACT relationship, in batches (auto-commit transaction only).
MATCH ()-[r:FACT]->()
CALL (r) {
  DELETE r
} IN TRANSACTIONS OF $batch_size ROWS
