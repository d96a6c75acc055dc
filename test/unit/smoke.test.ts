import { expect } from 'chai';
describe('toolchain', () => {
  it('runs TypeScript tests natively', () => {
    const x: number = 1 + 1;
    expect(x).to.equal(2);
  });
});
