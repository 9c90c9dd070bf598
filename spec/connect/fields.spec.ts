import { expect } from 'chai';
import { appendHeaders, hasFields, headersFromList, requestUrl, routePath } from '../../lib/connect/fields';
import type { RequestHead } from '../../lib/transport';

function head(fields: Partial<RequestHead>): RequestHead {
  return { method: 'POST', scheme: 'http', path: '/svc/Method', authority: 'example.test:8080', contentLength: -1, ...fields };
}

describe('connect/fields', () => {
  it('headersFromList leaves out pseudo-headers and keeps repeated fields', () => {
    const headers = headersFromList([':method', 'POST', ':path', '/x', 'x-a', '1', 'x-a', '2', 'content-type', 'application/grpc']);
    expect([...headers.keys()]).to.deep.equal(['content-type', 'x-a']);
    expect(headers.get('x-a')).to.equal('1, 2');
  });

  it('appendHeaders flattens Headers after what the list has; undefined adds nothing', () => {
    expect(appendHeaders([':status', '200'], new Headers({ 'X-Up': 'v', 'content-type': 'application/proto' }))).to.deep.equal([
      ':status',
      '200',
      'content-type',
      'application/proto',
      'x-up',
      'v',
    ]);
    expect(appendHeaders([':status', '404'], undefined)).to.deep.equal([':status', '404']);
  });

  it('hasFields', () => {
    expect(hasFields(undefined)).to.equal(false);
    expect(hasFields(new Headers())).to.equal(false);
    expect(hasFields(new Headers({ 'grpc-status': '0' }))).to.equal(true);
  });

  it('requestUrl from :scheme, :authority and :path, host standing in for a missing :authority', () => {
    expect(requestUrl(head({ path: '/svc/Method?encoding=json' }), null)).to.equal('http://example.test:8080/svc/Method?encoding=json');
    expect(requestUrl(head({ scheme: 'https', authority: '' }), 'from-host')).to.equal('https://from-host/svc/Method');
    expect(requestUrl(head({ authority: '' }), null)).to.equal('http://localhost/svc/Method');
    expect(requestUrl(head({ authority: 'bad host' }), null)).to.equal(null);
  });

  it('routePath drops the query', () => {
    expect(routePath('/svc/Method?connect=v1&message=x')).to.equal('/svc/Method');
    expect(routePath('/svc/Method')).to.equal('/svc/Method');
  });
});
