// POP3 incoming adapter. test() is the "Test" of Test and Enable: connect with the configured TLS
// mode, log in, STAT (proves the maildrop can be opened and locked), QUIT.
import { resolveLogin, secretsOf, type ResolvedLogin } from './credentials.js';
import { classifyError, type ErrorContext } from './errors.js';
import { Pop3Client } from './pop3-client.js';
import { describeEndpoint } from '../net/tls.js';
import type { ConnectionTester, Credentials, Endpoint } from './types.js';

export class Pop3Adapter implements ConnectionTester {
  constructor(
    private readonly endpoint: Endpoint,
    private readonly credentials: Credentials,
  ) {}

  async test(signal?: AbortSignal): Promise<void> {
    const client = await this.open(signal);
    try {
      await client.stat();
      await client.quit();
    } catch (err) {
      client.close();
      throw classifyError(err, this.context());
    }
  }

  /**
   * A connected, authenticated client for incoming sync. The caller must quit() (to commit DELE
   * marks) or close() it. Rejects with MailError.
   */
  async open(signal?: AbortSignal): Promise<Pop3Client> {
    let login: ResolvedLogin | undefined;
    let client: Pop3Client | undefined;
    try {
      login = await resolveLogin(this.credentials, this.context());
      client = await Pop3Client.connect({ ...this.endpoint, signal });
      await client.authenticate(login);
      return client;
    } catch (err) {
      client?.close();
      throw classifyError(err, this.context(login));
    }
  }

  private context(login?: ResolvedLogin): ErrorContext {
    return { protocol: 'POP3', server: describeEndpoint(this.endpoint), secrets: secretsOf(this.credentials, login) };
  }
}
