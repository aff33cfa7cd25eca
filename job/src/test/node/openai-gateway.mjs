// Drives `tetris gateway` with the official OpenAI client, for GatewayITCase.
// Usage: node openai-gateway.mjs BASE_URL ACTION [PARAMS_JSON]
//   models             client.models.list(): the model ids
//   complete PARAMS    client.completions.create(PARAMS): the whole response
//   complete-retrying PARAMS  the same with the client's own retries (as by default, but up to
//                      60): a gateway still waiting for Kafka answers 503 with Retry-After
//   stream PARAMS      the same with stream: true: id, joined text, chunk count, finish reason, usage
//   error PARAMS       a call that must fail: the APIError's status, code, param, type, message
// Prints one JSON object on stdout; exits 1 when the call does not go as the action expects.
import OpenAI from 'openai';

const [baseURL, action, paramsJson] = process.argv.slice(2);
const params = paramsJson ? JSON.parse(paramsJson) : {};
// No retries: the test must see the gateway's first answer, e.g. a 429, not a retried one.
const client = new OpenAI({ baseURL, apiKey: 'unused-by-the-gateway', maxRetries: 0, timeout: 120_000 });

async function stream(request) {
  const chunks = await client.completions.create({ ...request, stream: true });
  const out = { id: null, text: '', chunks: 0, finish_reason: null, usage: null };
  for await (const chunk of chunks) {
    out.id = chunk.id;
    out.chunks++;
    if (chunk.usage) out.usage = chunk.usage;
    for (const choice of chunk.choices) {
      out.text += choice.text;
      if (choice.finish_reason) out.finish_reason = choice.finish_reason;
    }
  }
  return out;
}

async function main() {
  switch (action) {
    case 'models': {
      const ids = [];
      for await (const model of client.models.list()) ids.push(model.id);
      return { ids };
    }
    case 'complete':
      return await client.completions.create(params);
    case 'complete-retrying':
      return await client.completions.create(params, { maxRetries: 60 });
    case 'stream':
      return await stream(params);
    case 'error':
      try {
        const answer = params.stream ? await stream(params) : await client.completions.create(params);
        console.error('expected an error, got ' + JSON.stringify(answer));
        process.exit(1);
      } catch (e) {
        if (!(e instanceof OpenAI.APIError)) throw e;
        return { status: e.status ?? null, code: e.code ?? null, param: e.param ?? null, type: e.type ?? null, message: e.message };
      }
    default:
      throw new Error('unknown action ' + action);
  }
}

main().then(
  (result) => console.log(JSON.stringify(result)),
  (e) => { console.error(e); process.exit(1); });
