package io.replica.transport.netty.internal.handler;

import javax.security.sasl.SaslException;
import org.jspecify.annotations.Nullable;

/**
 * One side of a SASL exchange (Kerberos GSSAPI), driven by {@link ConnectionHandler} with SASL
 * frames before the hello.
 */
public interface SaslSession {

  /** The client's first token (client side only). */
  byte[] start() throws PeerAuthenticator.Rejection;

  /**
   * Evaluates the peer's token.
   *
   * @return the token to answer with, or null when there is nothing to send
   */
  byte @Nullable [] evaluate(byte[] token) throws PeerAuthenticator.Rejection;

  /** Whether the exchange has completed on this side. */
  boolean complete();

  /** The negotiated quality of protection: "auth", "auth-int" or "auth-conf". */
  String qop();

  /** Whether a security layer (integrity or confidentiality) wraps the frames from now on. */
  boolean wraps();

  /** Protects outgoing bytes with the negotiated layer. */
  byte[] wrap(byte[] bytes, int offset, int length) throws SaslException;

  /** Checks and opens incoming bytes with the negotiated layer. */
  byte[] unwrap(byte[] bytes, int offset, int length) throws SaslException;

  /** Frees what the mechanism holds. */
  void dispose();
}
