package io.replica.testkit.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import io.replica.api.AuthenticationType;
import io.replica.spi.time.Scheduler;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.MessageHandler;
import io.replica.spi.transport.Transport;
import io.replica.testkit.memory.InMemoryNetwork;
import java.io.IOException;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;

/**
 * Checks {@link TransportContract} itself: the in-memory transport passes every rule, and each
 * deliberately broken transport (the in-memory one seen through a faulty wrapper) fails the rule
 * it breaks and no other.
 */
class TransportContractTest {
  private static final ScheduledExecutorService EXECUTOR = Executors.newScheduledThreadPool(2,
      r -> {
        Thread t = new Thread(r, "transport-kit-self-test");
        t.setDaemon(true);
        return t;
      });
  private static final InMemoryNetwork NETWORK = new InMemoryNetwork(Scheduler.of(EXECUTOR));
  private static final Pattern RULE = Pattern.compile("^(?:required|optional)_T(\\d+)_(\\d+)_");

  @AfterAll
  static void stop() {
    EXECUTOR.shutdownNow();
  }

  /** Failed rules with their messages, and skipped rules, of one run of a kit subclass. */
  private static Map<String, String> failures(Class<?> kit, Set<String> skipped) {
    EngineExecutionResults results = EngineTestKit.engine("junit-jupiter")
        .selectors(selectClass(kit)).configurationParameter(KitRun.SELF_TEST, "true").execute();
    assertEquals(0, results.containerEvents().failed().count(), kit.getSimpleName()
        + ": the kit class itself failed");
    Map<String, String> failed = new TreeMap<>();
    results.testEvents().failed().stream().forEach(e -> failed.put(rule(e), message(e)));
    Set<String> aborted = new TreeSet<>();
    results.testEvents().aborted().stream().forEach(e -> aborted.add(rule(e)));
    assertEquals(skipped, aborted, kit.getSimpleName() + ": skipped rules");
    assertEquals(10, results.testEvents().finished().count(), "every kit test ran");
    return failed;
  }

  private static String rule(Event event) {
    String method = event.getTestDescriptor().getSource()
        .filter(MethodSource.class::isInstance)
        .map(s -> ((MethodSource) s).getMethodName()).orElseThrow();
    Matcher m = RULE.matcher(method);
    assertTrue(m.find(), method + " carries no T rule id");
    return "T" + m.group(1) + "." + m.group(2);
  }

  private static String message(Event event) {
    return event.getPayload(TestExecutionResult.class)
        .flatMap(TestExecutionResult::getThrowable).map(Throwable::getMessage)
        .orElse("(no message)");
  }

  private static void assertFailsOnly(Class<?> kit, String rule) {
    Map<String, String> failed = failures(kit, Set.of("T1.10"));
    assertEquals(Set.of(rule), failed.keySet(), "failed rules: " + failed);
    assertTrue(failed.get(rule).startsWith(rule + ":"),
        "the failure names its rule: " + failed.get(rule));
  }

  @Test
  void inMemoryTransportPassesEveryRule() {
    assertEquals(Map.of(), failures(Reference.class, Set.of("T1.10")));
  }

  @Test
  void swappingMessagesFailsT1_1() {
    assertFailsOnly(SwapsZeroRuns.class, "T1.1");
  }

  @Test
  void upperCaseIdentityFailsT1_5() {
    assertFailsOnly(UpperCaseIdentity.class, "T1.5");
  }

  @Test
  void notTellingTheClosingEndFailsT1_6() {
    assertFailsOnly(SilentCloser.class, "T1.6");
  }

  // -------------------------------------------------------------------------------------------

  /** The kit on in-memory transports, each seen through {@link #wrap}. */
  @ExtendWith(SelfTestOnly.class)
  abstract static class Kit extends TransportContract<Transport> {
    @Override
    protected final Transport createTransport(String hostName) {
      return wrap(NETWORK.transport(hostName));
    }

    @Override
    protected Endpoint listenEndpoint(String hostName) {
      return new Endpoint(hostName, 0);
    }

    Transport wrap(Transport t) {
      return t;
    }

    /** A connection in a wrapper. */
    Connection wrapConnection(Connection c) {
      return c;
    }

    /** A handler in a wrapper, given the wrapped connection it serves. */
    MessageHandler wrapHandler(MessageHandler h) {
      return h;
    }
  }

  static final class Reference extends Kit {}

  /** Passes everything through, wrapping connections and handlers with the kit's hooks. */
  abstract static class Wrapping extends Kit {
    private final Map<MessageHandler, MessageHandler> wrappers = new java.util.IdentityHashMap<>();

    /** One wrapper per handler, so that a shared handler stays one handler (T1.4). */
    private MessageHandler wrapped(MessageHandler h) {
      synchronized (wrappers) {
        return wrappers.computeIfAbsent(h, this::wrapHandler);
      }
    }

    @Override
    protected int waitSeconds() {
      return 3;
    }

    @Override
    final Transport wrap(Transport t) {
      return new Transport() {
        @Override
        public Set<AuthenticationType> authenticationTypes() {
          return t.authenticationTypes();
        }

        @Override
        public boolean supportsCompression() {
          return t.supportsCompression();
        }

        @Override
        public Listener listen(Endpoint local, AuthenticationType authentication,
            Function<Connection, MessageHandler> handlers) throws IOException {
          return t.listen(local, authentication, c -> wrapped(handlers.apply(c)));
        }

        @Override
        public CompletableFuture<Connection> connect(Endpoint remote, ConnectOptions options,
            MessageHandler handler) {
          return t.connect(remote, options, wrapped(handler))
              .thenApply(c -> wrapConnection(c));
        }

        @Override
        public void close() {
          t.close();
        }
      };
    }
  }

  static class Forwarding implements Connection {
    final Connection c;

    Forwarding(Connection c) {
      this.c = c;
    }

    @Override
    public Endpoint remote() {
      return c.remote();
    }

    @Override
    public String peerIdentity() {
      return c.peerIdentity();
    }

    @Override
    public CompletableFuture<Void> send(Message message) {
      return c.send(message);
    }

    @Override
    public boolean isWritable() {
      return c.isWritable();
    }

    @Override
    public boolean isOpen() {
      return c.isOpen();
    }

    @Override
    public void close() {
      c.close();
    }
  }

  /** Holds each odd ZeroRun and sends it after the next one. */
  static final class SwapsZeroRuns extends Wrapping {
    @Override
    Connection wrapConnection(Connection c) {
      return new Forwarding(c) {
        private @Nullable Message held;

        @Override
        public synchronized CompletableFuture<Void> send(Message message) {
          if (message instanceof Message.ZeroRun) {
            if (held == null) {
              held = message;
              return CompletableFuture.completedFuture(null);
            }
            Message first = held;
            held = null;
            c.send(message);
            return c.send(first);
          }
          if (held != null) {
            c.send(held);
            held = null;
          }
          return c.send(message);
        }
      };
    }
  }

  /** Reports the peer's name in upper case on the connecting side. */
  static final class UpperCaseIdentity extends Wrapping {
    @Override
    Connection wrapConnection(Connection c) {
      return new Forwarding(c) {
        @Override
        public String peerIdentity() {
          return c.peerIdentity().toUpperCase(Locale.ROOT);
        }
      };
    }
  }

  /** Drops onClosed for a connecting end that closed itself. */
  static final class SilentCloser extends Wrapping {
    @Override
    MessageHandler wrapHandler(MessageHandler h) {
      return new MessageHandler() {
        @Override
        public void onMessage(Connection connection, Message message) {
          h.onMessage(connection, message);
        }

        @Override
        public void onWritable(Connection connection) {
          h.onWritable(connection);
        }

        @Override
        public void onClosed(Connection connection, @Nullable Throwable cause) {
          if (!CLOSED_BY_ME.contains(connection)) {
            h.onClosed(connection, cause);
          }
        }
      };
    }

    static final Set<Connection> CLOSED_BY_ME =
        java.util.Collections.newSetFromMap(new java.util.concurrent.ConcurrentHashMap<>());

    @Override
    Connection wrapConnection(Connection c) {
      return new Forwarding(c) {
        @Override
        public void close() {
          CLOSED_BY_ME.add(c);
          c.close();
        }
      };
    }
  }
}
