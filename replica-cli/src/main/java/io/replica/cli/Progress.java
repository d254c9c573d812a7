package io.replica.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.replica.host.admin.AdminClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * Follows an initial replication or a resynchronization through {@code GET /v1/vms/{vm}}: a
 * progress bar with the rate and the time left, until the machine replicates (exit 0) or stops
 * with an error (exit 1).
 */
final class Progress {
  private Progress() {}

  static int follow(AdminClient client, String vmPath, PrintWriter out, PrintWriter err, String what) {
    boolean console = System.console() != null;
    long lastPrinted = 0;
    while (true) {
      JsonNode vm;
      try {
        AdminClient.Response r = client.get(vmPath);
        if (!r.ok()) {
          err.println(what + ": " + r.body().path("error").asText("the host answered " + r.status()));
          return 1;
        }
        vm = r.body();
      } catch (IOException e) {
        err.println(what + ": lost the host's management socket: " + Preflight.describe(e));
        return 5;
      }
      String state = vm.path("state").asText();
      switch (state) {
        case "REPLICATING":
          out.println((console ? "\r" : "") + "done: " + vm.path("name").asText(vm.path("id").asText()) + " replicates");
          return 0;
        case "WAITING_FOR_INITIAL_REPLICATION", "RESYNCHRONIZING", "READY_FOR_INITIAL_REPLICATION":
          break;
        default:
          err.println(what + ": the machine is " + state + " now: " + vm.path("healthReasons"));
          return 1;
      }
      JsonNode p = vm.path("progress");
      long now = System.nanoTime();
      if (p.isObject() && (console || now - lastPrinted > 5_000_000_000L)) {
        out.print((console ? "\r" : "") + bar(p.path("bytesDone").asLong(), p.path("bytesTotal").asLong(),
            p.path("bytesPerSecond").asDouble()) + (console ? "" : "\n"));
        out.flush();
        lastPrinted = now;
      }
      try {
        Thread.sleep(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return 1;
      }
    }
  }

  /** {@code [#########...........]  45%  1.2 GiB of 2.6 GiB  118.0 MiB/s  12 s left} */
  static String bar(long done, long total, double bytesPerSecond) {
    double share = total <= 0 ? 0 : Math.min(1.0, (double) done / total);
    int filled = (int) Math.round(share * 30);
    String left = bytesPerSecond > 0 && total > done
        ? String.format(Locale.ROOT, "%d s left", (long) Math.ceil((total - done) / bytesPerSecond)) : "";
    return String.format(Locale.ROOT, "[%s%s] %3d%%  %s of %s  %s/s  %s", "#".repeat(filled), ".".repeat(30 - filled),
        Math.round(share * 100), DiskCommand.human(done), DiskCommand.human(total),
        DiskCommand.human((long) bytesPerSecond), left).stripTrailing();
  }
}
