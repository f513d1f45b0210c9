// A real Neo4j Community server for tests, without Docker or a neo4j.com download.
//
// Run:  java -cp '<lib>/*' Launcher.java <home-dir> <bolt-port> [password]
// The jars come from pom.xml (see run.sh). Bolt listens on 127.0.0.1 only; the store lives under
// <home-dir>/data and survives restarts. With a password, auth is on and user `neo4j` gets it
// (also on a restart with the same password); without, auth is off. Prints
// "READY bolt://127.0.0.1:<port>" once the `neo4j` database is up.
// LOAD CSV reads file:/// URLs only under <home-dir>/import (server.directories.import), a folder of
// its own that starts empty: without it, the embedded server would read any file its user can.
// SIGTERM (or Ctrl-C) closes the store cleanly through the shutdown hook.

import java.nio.file.Path;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

public class Launcher {
    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: Launcher <home-dir> <bolt-port> [password]");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        Path imports = home.resolve("import");
        java.nio.file.Files.createDirectories(imports);
        int port = Integer.parseInt(args[1]);
        String password = args.length > 2 ? args[2] : null;

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, password != null)
                .setConfig(GraphDatabaseSettings.pagecache_memory, 256L * 1024 * 1024)
                .setConfig(GraphDatabaseSettings.transaction_timeout, java.time.Duration.ofMinutes(10))
                .setConfig(GraphDatabaseSettings.load_csv_file_url_root, imports)
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("STOPPING");
            dbms.shutdown();
        }));
        try {
            start(dbms, password, port);
        } catch (Exception e) {
            System.err.println("FAILED: " + e.getMessage());
            System.exit(1);  // the shutdown hook closes the store
        }
        Thread.currentThread().join();
    }

    private static void start(DatabaseManagementService dbms, String password, int port) {
        if (password != null) {
            // The embedded API bypasses auth, so it can set the password without the
            // first-login change that a fresh server would otherwise demand.
            try {
                dbms.database("system").executeTransactionally(
                        "ALTER USER neo4j SET PASSWORD $pw CHANGE NOT REQUIRED",
                        java.util.Map.of("pw", password));
            } catch (RuntimeException e) {
                // A restart on the same home: the password is already this one, which is fine.
                if (!String.valueOf(e.getMessage()).contains("Old password and new password cannot be the same")) {
                    throw e;
                }
            }
        }
        dbms.database("neo4j");  // blocks until the default database is available
        System.out.println("READY bolt://127.0.0.1:" + port);
        System.out.flush();
    }
}
