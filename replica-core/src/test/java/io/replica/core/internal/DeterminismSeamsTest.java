package io.replica.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The engine reads time, sleeps, makes threads and draws randomness only through the seams it is
 * given, so a simulation on a manual clock can replay any run. This scans the main sources.
 */
class DeterminismSeamsTest {
  private static final Pattern FORBIDDEN = Pattern.compile(
      "System\\.nanoTime|System\\.currentTimeMillis|Instant\\.now|LocalDateTime\\.now|Thread\\.sleep"
          + "|new Thread\\(|new Random\\(|Math\\.random|ThreadLocalRandom|Executors\\.|new Timer\\(");

  @Test
  void coreMainCodeUsesOnlyTheInjectedSeams() throws IOException {
    Path root = Path.of("src/main/java");
    assertTrue(Files.isDirectory(root), "run from the replica-core module directory");
    List<String> hits = new ArrayList<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path file : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".java"))::iterator) {
        List<String> lines = Files.readAllLines(file);
        for (int i = 0; i < lines.size(); i++) {
          if (FORBIDDEN.matcher(lines.get(i)).find()) {
            hits.add(file + ":" + (i + 1) + ": " + lines.get(i).strip());
          }
        }
      }
    }
    assertEquals(List.of(), hits, "use the Clock, Scheduler or a seeded source instead");
  }
}
