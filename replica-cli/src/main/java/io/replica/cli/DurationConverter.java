package io.replica.cli;

import java.time.Duration;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Parses durations such as {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}. */
final class DurationConverter implements ITypeConverter<Duration> {
  @Override
  public Duration convert(String value) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    try {
      if (v.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
      }
      long n = Long.parseLong(v.substring(0, v.length() - 1));
      switch (v.charAt(v.length() - 1)) {
        case 's': return Duration.ofSeconds(n);
        case 'm': return Duration.ofMinutes(n);
        case 'h': return Duration.ofHours(n);
        default: break;
      }
    } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
      // Reported below.
    }
    throw new TypeConversionException("'" + value + "' is not a duration; use a number with ms, s, m or h, e.g. 30s");
  }
}
