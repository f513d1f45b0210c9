// Index creation is asynchronous: wait until every index is online.
CALL db.awaitIndexes($timeout_s)
